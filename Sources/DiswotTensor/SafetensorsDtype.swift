/// The safetensors element types this engine converts to `Float`.
///
/// Checkpoints arrive as F32 from PyTorch, but half-precision (F16, BF16) and F64 exports
/// are common too; they are widened (or, for F64, rounded) once at load time so that the
/// engine only ever computes in `Float`.
enum SafetensorsDtype: String, CaseIterable {
  case f64 = "F64"
  case f32 = "F32"
  case f16 = "F16"
  case bf16 = "BF16"

  /// Bytes per element.
  var size: Int {
    switch self {
    case .f64: return 8
    case .f32: return 4
    case .f16, .bf16: return 2
    }
  }

  /// The names accepted, for error messages.
  static var supportedNames: String { allCases.map(\.rawValue).joined(separator: ", ") }

  /// Converts `count` little-endian elements starting at `bytes` (any alignment: the file
  /// buffer gives no alignment guarantee) to `Float`.
  func decode(_ bytes: UnsafeRawPointer, count: Int) -> [Float] {
    switch self {
    case .f64:
      return Self.convert(bytes, count: count) { (bits: UInt64) in Float(Double(bitPattern: bits)) }
    case .f32:
      return Self.convert(bytes, count: count) { (bits: UInt32) in Float(bitPattern: bits) }
    case .f16: return Self.convert(bytes, count: count, Self.halfToFloat)
    case .bf16:
      return Self.convert(bytes, count: count) { (bits: UInt16) in
        Float(bitPattern: UInt32(bits) << 16)
      }
    }
  }

  /// Loads each element's bits with an unaligned load and maps them to `Float`.
  @inline(__always)
  private static func convert<Bits: FixedWidthInteger>(
    _ bytes: UnsafeRawPointer, count: Int, _ toFloat: (Bits) -> Float
  ) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { out, initialized in
      let stride = MemoryLayout<Bits>.size
      for i in 0..<count {
        let bits = bytes.loadUnaligned(fromByteOffset: i &* stride, as: Bits.self)
        out[i] = toFloat(Bits(littleEndian: bits))
      }
      initialized = count
    }
  }

  /// IEEE 754 binary16 to binary32, exact for every input (zeros, subnormals, infinities,
  /// NaN payloads). Written out by hand because `Float16` is unavailable on Intel macOS.
  static func halfToFloat(_ half: UInt16) -> Float {
    let sign = UInt32(half & 0x8000) << 16
    let exponent = UInt32(half >> 10) & 0x1F
    let mantissa = UInt32(half & 0x3FF)
    switch exponent {
    case 0:
      // Zero or subnormal: mantissa × 2⁻²⁴, exactly representable in binary32.
      let magnitude = Float(mantissa) * 0x1p-24
      return sign == 0 ? magnitude : -magnitude
    case 0x1F:
      // Infinity or NaN: all-ones exponent, payload kept.
      return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
    default:
      // Normal: rebias the exponent from 15 to 127.
      return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
    }
  }
}
