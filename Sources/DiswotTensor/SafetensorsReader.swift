import DiswotJSON
/// Parses and validates one safetensors file held in memory.
///
/// A checkpoint may come from anywhere, so every number in the header is checked before
/// it is used: the header length against the file, each tensor's dtype, shape and byte
/// range against each other, and the ranges against the data buffer. As in the reference
/// implementation the ranges must tile the buffer exactly (sorted, no gaps, no overlaps,
/// ending at the end of the file), which also defeats two names aliasing one range. Any
/// violation is a thrown `SafetensorsError`, never an out-of-bounds read.
struct SafetensorsReader {
  let bytes: [UInt8]
  /// Names the file in error messages.
  let source: String

  /// Headers longer than this are rejected before parsing, as in the reference
  /// implementation; real headers are a few kilobytes to a few megabytes.
  static let maxHeaderLength = 100_000_000
  /// The header key that holds the string metadata instead of a tensor.
  static let metadataKey = "__metadata__"

  /// One tensor's validated header entry; offsets are relative to the data buffer.
  private struct Entry {
    let name: String
    let dtype: SafetensorsDtype
    let shape: [Int]
    let begin: Int
    let end: Int
  }

  func read() throws(SafetensorsError) -> SafetensorsFile {
    let headerLength = try readHeaderLength()
    let dataStart = 8 + headerLength
    let header = try parseHeader(bytes[8..<dataStart])

    var metadata: [String: String] = [:]
    var entries: [Entry] = []
    // Sorted so that, when a file has several problems, the same one is always reported.
    for (key, value) in header.sorted(by: { $0.key < $1.key }) {
      if key == Self.metadataKey {
        metadata = try parseMetadata(value)
      } else {
        entries.append(try parseEntry(name: key, value))
      }
    }
    try checkLayout(entries, dataLength: bytes.count - dataStart)

    var tensors: [String: Tensor] = [:]
    var dtypes: [String: SafetensorsDtype] = [:]
    tensors.reserveCapacity(entries.count)
    for entry in entries {
      dtypes[entry.name] = entry.dtype
      let count = (entry.end - entry.begin) / entry.dtype.size
      let values = bytes.withUnsafeBytes { raw in
        entry.dtype.decode(raw.baseAddress! + dataStart + entry.begin, count: count)
      }
      // parseEntry matched the byte count to the shape, so this only guards the invariant.
      do {
        tensors[entry.name] = try Tensor(shape: entry.shape, storage: values)
      } catch {
        throw invalidTensor(entry.name, error.description)
      }
    }
    return SafetensorsFile(metadata: metadata, tensors: tensors, dtypes: dtypes)
  }

  // MARK: - Header

  /// The little-endian u64 at the start of the file, checked against the file size.
  private func readHeaderLength() throws(SafetensorsError) -> Int {
    guard bytes.count >= 8 else {
      throw .truncated(
        file: source,
        reason:
          "it has \(bytes.count) bytes, fewer than the 8-byte header length that starts the format")
    }
    let length = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    guard length <= UInt64(Self.maxHeaderLength) else {
      throw .invalidHeader(
        file: source,
        reason: "header length \(length) exceeds the \(Self.maxHeaderLength)-byte limit")
    }
    guard 8 + Int(length) <= bytes.count else {
      throw .truncated(
        file: source,
        reason:
          "the header length says \(length) bytes of header follow, but only \(bytes.count - 8) do")
    }
    return Int(length)
  }

  /// The header's top-level JSON object.
  private func parseHeader(_ text: ArraySlice<UInt8>) throws(SafetensorsError) -> [String:
    JSONValue]
  {
    guard text.first == UInt8(ascii: "{") else {
      throw .invalidHeader(file: source, reason: "the JSON header does not start with '{'")
    }
    guard let json = JSONValue.parse(text) else {
      throw .invalidHeader(file: source, reason: "the header is not valid UTF-8 JSON")
    }
    guard case .object(let fields) = json else {
      throw .invalidHeader(
        file: source, reason: "the header is \(json.typeName), not a JSON object")
    }
    return fields
  }

  /// `__metadata__`: an object whose values must all be strings.
  private func parseMetadata(_ value: JSONValue) throws(SafetensorsError) -> [String: String] {
    guard case .object(let fields) = value else {
      throw .invalidHeader(
        file: source, reason: "\(Self.metadataKey) is \(value.typeName), not an object of strings")
    }
    var metadata: [String: String] = [:]
    for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
      guard case .string(let string) = value else {
        throw .invalidHeader(
          file: source,
          reason: "\(Self.metadataKey) value of '\(key)' is \(value.typeName), not a string")
      }
      metadata[key] = string
    }
    return metadata
  }

  /// One `{"dtype", "shape", "data_offsets"}` entry; the byte range must match the
  /// shape and dtype. Fields other than these three are ignored, like the reference does.
  private func parseEntry(name: String, _ value: JSONValue) throws(SafetensorsError) -> Entry {
    guard case .object(let fields) = value else {
      throw invalidTensor(name, "its header entry is \(value.typeName), not an object")
    }
    guard let dtypeValue = fields["dtype"] else {
      throw invalidTensor(name, "missing field 'dtype'")
    }
    guard case .string(let dtypeName) = dtypeValue else {
      throw invalidTensor(name, "'dtype' is \(dtypeValue.typeName), not a string")
    }
    let shape = try integers(fields, "shape", of: name)
    if let negative = shape.first(where: { $0 < 0 }) {
      throw invalidTensor(name, "shape \(shape) has a negative dimension \(negative)")
    }
    let offsets = try integers(fields, "data_offsets", of: name)
    guard offsets.count == 2 else {
      throw invalidTensor(
        name, "'data_offsets' must be [begin, end], found \(offsets.count) values")
    }
    let (begin, end) = (offsets[0], offsets[1])
    guard begin >= 0, end >= begin else {
      throw invalidTensor(
        name, "data_offsets [\(begin), \(end)] are not a valid range (0 ≤ begin ≤ end)")
    }
    guard let dtype = SafetensorsDtype(rawValue: dtypeName) else {
      throw .unsupportedDtype(file: source, tensor: name, dtype: dtypeName)
    }
    var byteCount = dtype.size
    for extent in shape {
      let (product, overflow) = byteCount.multipliedReportingOverflow(by: extent)
      guard !overflow else { throw invalidTensor(name, "shape \(shape) is too large to address") }
      byteCount = product
    }
    guard byteCount == end - begin else {
      throw invalidTensor(
        name,
        "shape \(shape) of \(dtypeName) needs \(byteCount) bytes, "
          + "but data_offsets [\(begin), \(end)] span \(end - begin)")
    }
    return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
  }

  /// A field that must be an array of integers.
  private func integers(
    _ fields: [String: JSONValue], _ key: String, of tensor: String
  ) throws(SafetensorsError) -> [Int] {
    guard let value = fields[key] else { throw invalidTensor(tensor, "missing field '\(key)'") }
    guard case .array(let elements) = value else {
      throw invalidTensor(tensor, "'\(key)' is \(value.typeName), not an array of integers")
    }
    var result: [Int] = []
    result.reserveCapacity(elements.count)
    for element in elements {
      guard case .int(let integer) = element else {
        throw invalidTensor(tensor, "'\(key)' holds \(element.typeName) that is not an integer")
      }
      result.append(integer)
    }
    return result
  }

  // MARK: - Layout

  /// The byte ranges, sorted, must cover the data buffer exactly once.
  private func checkLayout(_ entries: [Entry], dataLength: Int) throws(SafetensorsError) {
    var covered = 0
    var previous: Entry?
    for entry in entries.sorted(by: { ($0.begin, $0.end) < ($1.begin, $1.end) }) {
      if entry.begin < covered, let previous {
        throw invalidTensor(
          entry.name,
          "data_offsets [\(entry.begin), \(entry.end)] overlap tensor '\(previous.name)' "
            + "at [\(previous.begin), \(previous.end)]")
      }
      if entry.begin > covered {
        throw invalidTensor(
          entry.name,
          "data_offsets [\(entry.begin), \(entry.end)] leave data bytes \(covered)..<\(entry.begin) "
            + "belonging to no tensor")
      }
      covered = entry.end
      previous = entry
    }
    if covered > dataLength {
      throw .truncated(
        file: source,
        reason:
          "the header describes \(covered) bytes of tensor data, but only \(dataLength) follow it")
    }
    if covered < dataLength {
      throw .invalidHeader(
        file: source,
        reason: "\(dataLength - covered) bytes after the last tensor's data belong to no tensor")
    }
  }

  private func invalidTensor(_ name: String, _ reason: String) -> SafetensorsError {
    .invalidTensor(file: source, tensor: name, reason: reason)
  }
}
