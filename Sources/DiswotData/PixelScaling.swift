/// Pixel bytes to the [0, 1] floats networks take.
///
/// Each byte becomes exactly `Float(byte) / 255`, what PyTorch's `ToTensor` computes, so
/// that inputs match the Python pipeline the teachers were evaluated with bit for bit.
/// The quotients come from a 256-entry table: one load per pixel instead of a division.
enum PixelScaling {
  private static let table: [Float] = (0...255).map { Float($0) / 255 }

  /// Writes `count` scaled pixels from `bytes` to `floats`.
  static func scale(
    _ bytes: UnsafePointer<UInt8>, into floats: UnsafeMutablePointer<Float>, count: Int
  ) {
    table.withUnsafeBufferPointer { table in
      for i in 0..<count {
        floats[i] = table[Int(bytes[i])]
      }
    }
  }
}
