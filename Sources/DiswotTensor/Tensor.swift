/// A dense, contiguous, row-major `Float` tensor (NCHW for images).
///
/// A value type: copies share storage until one is written (Swift's copy-on-write arrays),
/// so passing tensors around is cheap and ownership is explicit. Kernels reach the raw
/// storage through `withUnsafeBufferPointer` so that hot loops carry no bounds checks
/// or reference counting.
public struct Tensor: Sendable, Equatable {
  /// Extent of each dimension, outermost first.
  public private(set) var shape: [Int]
  /// The elements, row-major; `storage.count == shape.reduce(1, *)`.
  public var storage: [Float]

  /// A tensor of the given shape filled with `value`.
  public init(zeros shape: [Int], value: Float = 0) {
    self.shape = shape
    self.storage = [Float](repeating: value, count: shape.reduce(1, *))
  }

  /// A tensor of the given shape over `storage`; the element count must match.
  public init(shape: [Int], storage: [Float]) throws(TensorError) {
    guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == storage.count else {
      throw .shapeMismatch("\(storage.count) elements cannot have shape \(shape)")
    }
    self.shape = shape
    self.storage = storage
  }

  /// Number of elements.
  @inlinable public var count: Int { storage.count }
  /// Number of dimensions.
  @inlinable public var rank: Int { shape.count }

  /// The same elements under another shape with the same element count.
  public func reshaped(_ newShape: [Int]) throws(TensorError) -> Tensor {
    try Tensor(shape: newShape, storage: storage)
  }

  /// Reads the elements without copying.
  @inlinable
  public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
    try storage.withUnsafeBufferPointer(body)
  }

  /// Writes the elements in place (copies first only if the storage is shared).
  @inlinable
  public mutating func withUnsafeMutableBufferPointer<R>(
    _ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R
  ) rethrows -> R {
    try storage.withUnsafeMutableBufferPointer(body)
  }

  /// Element at a multi-index (for tests and small tools; kernels use raw pointers).
  public subscript(_ index: Int...) -> Float {
    get { storage[flatIndex(index)] }
    set { storage[flatIndex(index)] = newValue }
  }

  private func flatIndex(_ index: [Int]) -> Int {
    precondition(index.count == shape.count, "index \(index) for shape \(shape)")
    var flat = 0
    for (i, extent) in zip(index, shape) {
      precondition(i >= 0 && i < extent, "index \(index) out of bounds for shape \(shape)")
      flat = flat * extent + i
    }
    return flat
  }
}

/// NCHW accessors, valid for rank-4 tensors.
extension Tensor {
  @inlinable public var n: Int { shape[0] }
  @inlinable public var c: Int { shape[1] }
  @inlinable public var h: Int { shape[2] }
  @inlinable public var w: Int { shape[3] }
}

/// Errors raised by tensor construction and kernels on inputs that do not fit.
public enum TensorError: Error, Equatable, CustomStringConvertible {
  /// Shapes of operands do not agree; the message names both.
  case shapeMismatch(String)
  /// A size or parameter outside what the kernel supports.
  case invalidArgument(String)

  public var description: String {
    switch self {
    case .shapeMismatch(let m): return "shape mismatch: \(m)"
    case .invalidArgument(let m): return "invalid argument: \(m)"
    }
  }
}
