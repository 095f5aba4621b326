import DiswotFiles
/// The contents of a safetensors file: named tensors plus string metadata.
///
/// safetensors (Hugging Face's format) is how checkpoints travel between this engine and
/// PyTorch: an 8-byte little-endian header length N, N bytes of JSON header
/// (`{"__metadata__": {String: String}, name: {"dtype", "shape", "data_offsets"}}`,
/// padded with spaces to a multiple of 8), then the data buffer the offsets point into.
/// The engine computes in `Float`, so every tensor is converted to `Float` on reading
/// (see `SafetensorsDtype` for the types read and how) and converted back to its dtype,
/// F32 unless told otherwise, on writing.
public struct SafetensorsFile: Sendable, Equatable {
  /// The `__metadata__` strings (architecture, dataset, normalisation, …).
  public var metadata: [String: String]
  /// Every tensor of the file, converted to `Float`.
  public var tensors: [String: Tensor]
  /// The dtype each tensor of a file read is stored in, so that a file can be written
  /// back as it was (PyTorch's I64 `num_batches_tracked` stays I64).
  public var dtypes: [String: SafetensorsDtype]

  public init(
    metadata: [String: String] = [:], tensors: [String: Tensor] = [:], dtypes: [String: SafetensorsDtype] = [:]
  ) {
    self.metadata = metadata
    self.tensors = tensors
    self.dtypes = dtypes
  }

  /// Tensor names in sorted order, for deterministic listings and iteration.
  public var names: [String] { tensors.keys.sorted() }

  /// Reads and validates the file at `path`.
  public static func read(path: String) throws(SafetensorsError) -> SafetensorsFile {
    let bytes: [UInt8]
    do {
      bytes = try DurableFile.readAll(path: path)
    } catch {
      throw .unreadable(file: path, reason: error.reason)
    }
    return try decode(bytes, source: path)
  }

  /// Validates and decodes a whole file held in memory; `source` names it in errors.
  public static func decode(_ bytes: [UInt8], source: String) throws(SafetensorsError)
    -> SafetensorsFile
  {
    try SafetensorsReader(bytes: bytes, source: source).read()
  }

  /// Serialises `tensors` with `metadata`, each tensor in its entry of `dtypes` (F32 when
  /// it has none; entries naming no tensor are ignored), laid out like the reference
  /// implementation (`SafetensorsWriter`). Names must be unique and must not be
  /// `__metadata__`; a tensor bound for an integer dtype must hold only whole numbers in
  /// that dtype's range (`SafetensorsError.unrepresentable` otherwise).
  public static func encode(
    tensors: [(name: String, tensor: Tensor)], metadata: [String: String],
    dtypes: [String: SafetensorsDtype] = [:]
  ) throws(SafetensorsError) -> [UInt8] {
    try SafetensorsWriter.encode(
      tensors: tensors, metadata: metadata, dtypes: dtypes, destination: "in-memory buffer")
  }

  /// Writes `tensors` and `metadata` to `path` (as `encode` lays them out) atomically:
  /// the bytes go to a temporary file in the same directory, are flushed to disk, and the
  /// file is then renamed over `path`, so a crash never leaves a half-written checkpoint.
  public static func write(
    path: String, tensors: [(name: String, tensor: Tensor)], metadata: [String: String],
    dtypes: [String: SafetensorsDtype] = [:]
  ) throws(SafetensorsError) {
    let bytes = try SafetensorsWriter.encode(
      tensors: tensors, metadata: metadata, dtypes: dtypes, destination: path)
    do {
      try DurableFile.writeAtomically(path: path, bytes: bytes)
    } catch {
      throw .unwritable(file: path, reason: error.reason)
    }
  }
}

/// Why a safetensors file could not be read or written; every case names the file.
public enum SafetensorsError: Error, Equatable, CustomStringConvertible {
  /// The file could not be opened or read (missing, no permission, I/O error).
  case unreadable(file: String, reason: String)
  /// The file could not be created, written or moved into place.
  case unwritable(file: String, reason: String)
  /// The file ends before the parts its own header length promises.
  case truncated(file: String, reason: String)
  /// The JSON header is not a valid safetensors header.
  case invalidHeader(file: String, reason: String)
  /// One tensor's header entry is malformed or disagrees with the data buffer.
  case invalidTensor(file: String, tensor: String, reason: String)
  /// A tensor is stored in a dtype that is not converted to `Float` (see
  /// `SafetensorsDtype`; the 8-bit and sub-byte float formats are not).
  case unsupportedDtype(file: String, tensor: String, dtype: String)
  /// A tensor to be saved has a name the format cannot hold (duplicate or reserved).
  case invalidName(file: String, tensor: String, reason: String)
  /// A tensor to be saved in an integer dtype holds a value that dtype cannot store
  /// (not a whole number, or out of range): saved anyway, it would silently change.
  case unrepresentable(file: String, tensor: String, dtype: String, reason: String)

  public var description: String {
    switch self {
    case .unreadable(let file, let reason):
      return "cannot read safetensors file \(file): \(reason)"
    case .unwritable(let file, let reason):
      return "cannot write safetensors file \(file): \(reason)"
    case .truncated(let file, let reason):
      return "safetensors file \(file) is truncated: \(reason)"
    case .invalidHeader(let file, let reason):
      return "safetensors file \(file) has an invalid header: \(reason)"
    case .invalidTensor(let file, let tensor, let reason):
      return "safetensors file \(file), tensor '\(tensor)': \(reason)"
    case .unsupportedDtype(let file, let tensor, let dtype):
      return "safetensors file \(file), tensor '\(tensor)': unsupported dtype \(dtype) "
        + "(supported: \(SafetensorsDtype.supportedNames))"
    case .invalidName(let file, let tensor, let reason):
      return "cannot save tensor '\(tensor)' to safetensors \(file): \(reason)"
    case .unrepresentable(let file, let tensor, let dtype, let reason):
      return "cannot save tensor '\(tensor)' to safetensors \(file) as \(dtype): \(reason)"
    }
  }
}
