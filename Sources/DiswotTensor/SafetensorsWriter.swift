/// Serialises tensors to safetensors bytes, byte for byte as the reference implementation
/// lays them out for F32 tensors: tensors sorted by name (all share one dtype, so the
/// reference's alignment-first ordering reduces to that), compact JSON with
/// `__metadata__` first and omitted when empty, and the header padded with spaces to a
/// multiple of 8 bytes so that every tensor's data starts 8-byte aligned in the file.
enum SafetensorsWriter {
  static func encode(
    tensors: [(name: String, tensor: Tensor)], metadata: [String: String], destination: String
  ) throws(SafetensorsError) -> [UInt8] {
    // Byte order of UTF-8 names, as Rust's `String` ordering in the reference.
    let sorted = tensors.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    for (index, entry) in sorted.enumerated() {
      if entry.name == SafetensorsReader.metadataKey {
        throw .invalidName(
          file: destination, tensor: entry.name, reason: "the name is reserved for the metadata")
      }
      if index > 0, sorted[index - 1].name == entry.name {
        throw .invalidName(
          file: destination, tensor: entry.name, reason: "two tensors have this name")
      }
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
    for (name, tensor) in sorted {
      let end = offset + tensor.count * MemoryLayout<Float>.size
      let shape = tensor.shape.map(String.init).joined(separator: ",")
      fields.append(
        jsonString(name)
          + ":{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
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
      for (_, tensor) in sorted {
        tensor.withUnsafeBufferPointer { values in
          for value in values {
            out.storeBytes(
              of: value.bitPattern.littleEndian, toByteOffset: position, as: UInt32.self)
            position &+= 4
          }
        }
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
