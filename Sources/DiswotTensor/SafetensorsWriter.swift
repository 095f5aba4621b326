/// Serialises tensors to safetensors bytes, byte for byte as the reference implementation
/// lays them out: tensors ordered by dtype (the reference's `Dtype` declaration order,
/// descending, which puts 8-byte types before 4-, 2- and 1-byte ones so every tensor
/// starts aligned to its element size) and then by name, compact JSON with `__metadata__`
/// first and omitted when empty, and the header padded with spaces to a multiple of 8
/// bytes so that the data buffer starts 8-byte aligned in the file.
///
/// The reference writes `__metadata__` in hash-map order; here its keys are sorted, so a
/// file with two or more metadata entries matches the reference's bytes only up to that
/// order (and is reproducible, which the reference's is not).
enum SafetensorsWriter {
  static func encode(
    tensors: [(name: String, tensor: Tensor)], metadata: [String: String],
    dtypes: [String: SafetensorsDtype], destination: String
  ) throws(SafetensorsError) -> [UInt8] {
    let entries = tensors.map { (name: $0.name, tensor: $0.tensor, dtype: dtypes[$0.name] ?? .f32) }
    // Byte order of UTF-8 names, as Rust's `String` ordering in the reference.
    let byName = entries.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    for (index, entry) in byName.enumerated() {
      if entry.name == SafetensorsReader.metadataKey {
        throw .invalidName(
          file: destination, tensor: entry.name, reason: "the name is reserved for the metadata")
      }
      if index > 0, byName[index - 1].name == entry.name {
        throw .invalidName(
          file: destination, tensor: entry.name, reason: "two tensors have this name")
      }
      if entry.dtype.isInteger {
        for value in entry.tensor.storage {
          if let reason = entry.dtype.rejection(of: value) {
            throw .unrepresentable(file: destination, tensor: entry.name, dtype: entry.dtype.rawValue, reason: reason)
          }
        }
      }
    }
    let sorted = byName.sorted {
      $0.dtype.layoutRank != $1.dtype.layoutRank
        ? $0.dtype.layoutRank > $1.dtype.layoutRank
        : $0.name.utf8.lexicographicallyPrecedes($1.name.utf8)
    }

    var fields: [String] = []
    if !metadata.isEmpty {
      let pairs = metadata.sorted { $0.key < $1.key }.map {
        jsonString($0.key) + ":" + jsonString($0.value)
      }
      fields.append(
        jsonString(SafetensorsReader.metadataKey) + ":{" + pairs.joined(separator: ",") + "}")
    }
    var offset = 0
    for entry in sorted {
      let end = offset + entry.tensor.count * entry.dtype.size
      let shape = entry.tensor.shape.map(String.init).joined(separator: ",")
      fields.append(
        jsonString(entry.name)
          + ":{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
      offset = end
    }
    var headerBytes = Array(("{" + fields.joined(separator: ",") + "}").utf8)
    headerBytes += [UInt8](repeating: UInt8(ascii: " "), count: (8 - headerBytes.count % 8) % 8)

    let dataStart = 8 + headerBytes.count
    return [UInt8](unsafeUninitializedCapacity: dataStart + offset) { buffer, initialized in
      let out = UnsafeMutableRawPointer(buffer.baseAddress!)
      out.storeBytes(of: UInt64(headerBytes.count).littleEndian, as: UInt64.self)
      headerBytes.withUnsafeBytes {
        (out + 8).copyMemory(from: $0.baseAddress!, byteCount: $0.count)
      }
      var position = dataStart
      for entry in sorted {
        entry.tensor.withUnsafeBufferPointer { entry.dtype.encode($0, into: out + position) }
        position += entry.tensor.count * entry.dtype.size
      }
      initialized = dataStart + offset
    }
  }

  /// A JSON string literal escaped as serde_json does: quote, backslash and control
  /// characters only (short forms where JSON has them, `\u00xx` otherwise).
  static func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case "\u{8}": out += "\\b"
      case "\u{C}": out += "\\f"
      case "\u{0}"..."\u{1F}":
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}
