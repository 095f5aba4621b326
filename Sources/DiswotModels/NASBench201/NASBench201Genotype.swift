/// One of the five operations an edge of a NAS-Bench-201 cell can carry
/// (`NAS_BENCH_201` in AutoDL-Projects' `xautodl/models/cell_operations.py`).
///
/// The cases are listed in the reference's order, which is also the digit order of
/// `NASBench201Genotype.index`: none = 0, skip_connect = 1, nor_conv_1x1 = 2,
/// nor_conv_3x3 = 3, avg_pool_3x3 = 4.
public enum NASBench201Operation: String, Sendable, Codable, CaseIterable {
  /// Zero: the edge contributes nothing.
  case none = "none"
  /// Identity.
  case skipConnect = "skip_connect"
  /// ReLU → 1×1 convolution → batch norm.
  case conv1x1 = "nor_conv_1x1"
  /// ReLU → 3×3 convolution (padding 1) → batch norm.
  case conv3x3 = "nor_conv_3x3"
  /// 3×3 average, stride 1, padding 1, padded positions not counted.
  case avgPool3x3 = "avg_pool_3x3"

  /// The digit of this operation in `NASBench201Genotype.index`.
  public var digit: Int { Self.allCases.firstIndex(of: self)! }

  /// Whether the operation has learned parameters (and so state-dict entries).
  public var isParametric: Bool { self == .conv1x1 || self == .conv3x3 }
}

/// A NAS-Bench-201 cell: a DAG of 4 nodes whose 6 edges j → i (j < i) each carry one
/// operation; node i is the sum over j < i of op_{i←j}(node j) and the cell's output is
/// node 3 (Dong & Yang, ICLR 2020).
///
/// The string form is the benchmark's, `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`: one
/// `|…|` group per node 1, 2, 3, listing its inputs 0, 1, … in order.
public struct NASBench201Genotype: Sendable, Hashable, CustomStringConvertible {
  /// Edges in the order of `ops` and of the reference `InferCell.layers`:
  /// 1←0, 2←0, 2←1, 3←0, 3←1, 3←2.
  public static let edges: [(to: Int, from: Int)] = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)]
  /// Number of distinct genotypes, 5⁶.
  public static let count = 15_625

  /// The operation on each edge, in `edges` order.
  public let ops: [NASBench201Operation]

  /// A genotype from its six operations in `edges` order.
  public init(ops: [NASBench201Operation]) throws(ModelError) {
    guard ops.count == 6 else {
      throw .invalidDescription("a NAS-Bench-201 cell has 6 edges, got \(ops.count) operations")
    }
    self.ops = ops
  }

  /// Parses the benchmark's string form, checking the node layout, every input index
  /// and every operation name.
  public init(string: String) throws(ModelError) {
    func fail(_ m: String) -> ModelError {
      .invalidDescription("genotype '\(string)': \(m)")
    }
    let nodes = string.split(separator: "+", omittingEmptySubsequences: false)
    guard nodes.count == 3 else {
      throw fail("expected 3 '+'-separated nodes (|op~0|+|op~0|op~1|+|op~0|op~1|op~2|), got \(nodes.count)")
    }
    var ops: [NASBench201Operation] = []
    for (i, node) in nodes.enumerated() {
      guard node.count >= 2, node.first == "|", node.last == "|" else {
        throw fail("node \(i + 1) '\(node)' must be of the form |op~0|…|")
      }
      let inputs = node.dropFirst().dropLast().split(separator: "|", omittingEmptySubsequences: false)
      guard inputs.count == i + 1 else {
        throw fail("node \(i + 1) must have \(i + 1) input(s), got \(inputs.count) in '\(node)'")
      }
      for (j, input) in inputs.enumerated() {
        let parts = input.split(separator: "~", omittingEmptySubsequences: false)
        guard parts.count == 2, let from = Int(parts[1]) else {
          throw fail("'\(input)' in node \(i + 1) must be op~index")
        }
        guard from == j else {
          throw fail("input \(j + 1) of node \(i + 1) must come from node \(j), got '\(input)'")
        }
        guard let op = NASBench201Operation(rawValue: String(parts[0])) else {
          let valid = NASBench201Operation.allCases.map(\.rawValue).joined(separator: ", ")
          throw fail("unknown operation '\(parts[0])' (valid: \(valid))")
        }
        ops.append(op)
      }
    }
    self.ops = ops
  }

  /// The genotype at position `index` of the enumeration `index` describes.
  public init(index: Int) throws(ModelError) {
    guard (0..<Self.count).contains(index) else {
      throw .invalidDescription("NAS-Bench-201 genotype index must be in 0..<\(Self.count), got \(index)")
    }
    var rest = index
    var ops = [NASBench201Operation](repeating: .none, count: 6)
    for e in (0..<6).reversed() {
      ops[e] = NASBench201Operation.allCases[rest % 5]
      rest /= 5
    }
    self.ops = ops
  }

  /// The six operations read as a base-5 number, edge 1←0 the most significant digit,
  /// digits as in `NASBench201Operation.digit`. This is the order of AutoDL-Projects'
  /// `CellStructure.gen_all(NAS_BENCH_201, 4, False)`; it is *not* the benchmark file's
  /// architecture index, which is that list shuffled with Python's `random.seed(88)`.
  public var index: Int { ops.reduce(0) { $0 * 5 + $1.digit } }

  /// The benchmark's string form.
  public var string: String {
    var nodes: [String] = []
    var e = 0
    for node in 1...3 {
      let inputs = (0..<node).map { j -> String in
        defer { e += 1 }
        return "\(ops[e].rawValue)~\(j)"
      }
      nodes.append("|" + inputs.joined(separator: "|") + "|")
    }
    return nodes.joined(separator: "+")
  }

  public var description: String { string }
}

extension NASBench201Genotype: Codable {
  /// Encoded as its string form, the way the benchmark and papers write it.
  public init(from decoder: Decoder) throws {
    let string = try decoder.singleValueContainer().decode(String.self)
    self = try NASBench201Genotype(string: string)
  }

  public func encode(to encoder: Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(string)
  }
}
