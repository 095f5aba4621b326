/// The safetensors element types this engine reads (converting to `Float`) and writes
/// (converting from `Float`).
///
/// Checkpoints arrive as F32 from PyTorch, but half-precision (F16, BF16) and F64 exports
/// are common too, and every PyTorch `state_dict` with batch norm holds I64
/// `num_batches_tracked` counters; integer tensors (masks, indices, counters) come as
/// I8…I64, U8…U64 or BOOL. Everything is converted once at load time so that the engine
/// only ever computes in `Float`: floats are widened or rounded to nearest, integers are
/// exact up to 2²⁴ in magnitude and rounded to the nearest `Float` beyond.
///
/// The cases are declared in the order of the reference implementation's `Dtype` enum
/// (huggingface/safetensors), whose writer lays tensors out by that order, descending,
/// then by name; `SafetensorsWriter` sorts by `layoutRank` to write the same bytes.
public enum SafetensorsDtype: String, CaseIterable, Sendable {
  case bool = "BOOL"
  case u8 = "U8"
  case i8 = "I8"
  case i16 = "I16"
  case u16 = "U16"
  case f16 = "F16"
  case bf16 = "BF16"
  case i32 = "I32"
  case u32 = "U32"
  case f32 = "F32"
  case f64 = "F64"
  case i64 = "I64"
  case u64 = "U64"

  /// Bytes per element.
  public var size: Int {
    switch self {
    case .bool, .u8, .i8: return 1
    case .i16, .u16, .f16, .bf16: return 2
    case .i32, .u32, .f32: return 4
    case .f64, .i64, .u64: return 8
    }
  }

  /// Whether elements are whole numbers (writing one that is not is an error).
  public var isInteger: Bool {
    switch self {
    case .f16, .bf16, .f32, .f64: return false
    default: return true
    }
  }

  /// Position in the reference's declaration order: tensors of a higher rank come first
  /// in a file's data buffer.
  var layoutRank: Int { Self.allCases.firstIndex(of: self)! }

  /// The names accepted, for error messages.
  static var supportedNames: String { allCases.map(\.rawValue).joined(separator: ", ") }

  // MARK: - Reading

  /// Converts `count` little-endian elements starting at `bytes` (any alignment: the file
  /// buffer gives no alignment guarantee) to `Float`. BOOL bytes other than 0 read as 1,
  /// as PyTorch reads them.
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
    case .bool: return Self.convert(bytes, count: count) { (bits: UInt8) in bits == 0 ? 0 : 1 }
    case .u8: return Self.convert(bytes, count: count) { (bits: UInt8) in Float(bits) }
    case .i8: return Self.convert(bytes, count: count) { (bits: UInt8) in Float(Int8(bitPattern: bits)) }
    case .u16: return Self.convert(bytes, count: count) { (bits: UInt16) in Float(bits) }
    case .i16: return Self.convert(bytes, count: count) { (bits: UInt16) in Float(Int16(bitPattern: bits)) }
    case .u32: return Self.convert(bytes, count: count) { (bits: UInt32) in Float(bits) }
    case .i32: return Self.convert(bytes, count: count) { (bits: UInt32) in Float(Int32(bitPattern: bits)) }
    case .u64: return Self.convert(bytes, count: count) { (bits: UInt64) in Float(bits) }
    case .i64: return Self.convert(bytes, count: count) { (bits: UInt64) in Float(Int64(bitPattern: bits)) }
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

  // MARK: - Writing

  /// Why one element cannot be stored in this dtype, or nil if it can.
  func rejection(of value: Float) -> String? {
    guard isInteger else { return nil }
    guard value.isFinite, value.rounded(.towardZero) == value else {
      return "element \(value) is not a whole number, as \(rawValue) needs"
    }
    let fits: Bool
    switch self {
    case .bool: return value == 0 || value == 1 ? nil : "element \(value) is not 0 or 1, as BOOL needs"
    case .u8: fits = UInt8(exactly: value) != nil
    case .i8: fits = Int8(exactly: value) != nil
    case .u16: fits = UInt16(exactly: value) != nil
    case .i16: fits = Int16(exactly: value) != nil
    case .u32: fits = UInt32(exactly: value) != nil
    case .i32: fits = Int32(exactly: value) != nil
    case .u64: fits = UInt64(exactly: value) != nil
    case .i64: fits = Int64(exactly: value) != nil
    case .f16, .bf16, .f32, .f64: fits = true
    }
    return fits ? nil : "element \(value) is outside the range of \(rawValue)"
  }

  /// Stores `values` little-endian at `out` (`values.count × size` bytes). Floats are
  /// rounded to nearest (even); integer values must have passed `rejection(of:)`.
  func encode(_ values: UnsafeBufferPointer<Float>, into out: UnsafeMutableRawPointer) {
    switch self {
    case .f32: Self.store(values, out) { $0.bitPattern }
    case .f64: Self.store(values, out) { Double($0).bitPattern }
    case .f16: Self.store(values, out, Self.floatToHalf)
    case .bf16: Self.store(values, out, Self.floatToBFloat16)
    case .bool, .u8: Self.store(values, out) { UInt8($0) }
    case .i8: Self.store(values, out) { UInt8(bitPattern: Int8($0)) }
    case .u16: Self.store(values, out) { UInt16($0) }
    case .i16: Self.store(values, out) { UInt16(bitPattern: Int16($0)) }
    case .u32: Self.store(values, out) { UInt32($0) }
    case .i32: Self.store(values, out) { UInt32(bitPattern: Int32($0)) }
    case .u64: Self.store(values, out) { UInt64($0) }
    case .i64: Self.store(values, out) { UInt64(bitPattern: Int64($0)) }
    }
  }

  @inline(__always)
  private static func store<Bits: FixedWidthInteger>(
    _ values: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawPointer, _ toBits: (Float) -> Bits
  ) {
    let stride = MemoryLayout<Bits>.size
    for (i, value) in values.enumerated() {
      out.storeBytes(of: toBits(value).littleEndian, toByteOffset: i &* stride, as: Bits.self)
    }
  }

  /// binary32 to binary16, rounding to nearest even (NumPy's `npy_floatbits_to_halfbits`):
  /// too large → infinity, too small → signed zero, NaN stays NaN.
  static func floatToHalf(_ value: Float) -> UInt16 {
    let f = value.bitPattern
    let sign = UInt16(truncatingIfNeeded: (f & 0x8000_0000) >> 16)
    let exponent = f & 0x7F80_0000
    if exponent >= 0x4780_0000 {
      let mantissa = f & 0x007F_FFFF
      guard exponent == 0x7F80_0000, mantissa != 0 else { return sign | 0x7C00 }
      // NaN: keep the top payload bits, but never let them vanish into an infinity.
      let payload = UInt16(truncatingIfNeeded: mantissa >> 13)
      return sign | 0x7C00 | (payload == 0 ? 1 : payload)
    }
    if exponent <= 0x3800_0000 {
      // Below half's normal range: a subnormal half, or a signed zero.
      guard exponent >= 0x3300_0000 else { return sign }
      var significand = 0x0080_0000 | (f & 0x007F_FFFF)
      significand >>= 113 - (exponent >> 23)
      // Round half to even; the shift may have dropped set bits that make it "above half".
      if (significand & 0x3FFF) != 0x1000 || (f & 0x7FF) != 0 { significand += 0x1000 }
      return sign | UInt16(truncatingIfNeeded: significand >> 13)
    }
    var significand = f & 0x007F_FFFF
    if (significand & 0x3FFF) != 0x1000 { significand += 0x1000 }
    // A carry out of the significand increments the exponent, up to infinity: correct.
    return sign &+ UInt16(truncatingIfNeeded: (exponent - 0x3800_0000) >> 13) &+ UInt16(truncatingIfNeeded: significand >> 13)
  }

  /// binary32 to bfloat16 (its top 16 bits), rounding to nearest even; NaN stays NaN.
  static func floatToBFloat16(_ value: Float) -> UInt16 {
    let f = value.bitPattern
    if value.isNaN { return UInt16(truncatingIfNeeded: f >> 16) | 0x0040 }
    return UInt16(truncatingIfNeeded: (f &+ 0x7FFF &+ ((f >> 16) & 1)) >> 16)
  }
}
