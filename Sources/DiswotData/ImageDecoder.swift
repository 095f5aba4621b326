import CJPEG
import CPNG

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// JPEG (libjpeg-turbo) and PNG (libpng) files to 8-bit RGB, converted as PIL's
/// `Image.open(f).convert("RGB")` does — what torchvision's `ImageFolder` loader feeds
/// its transforms — so that images reach a network as they reached it in PyTorch.
///
/// The format is told by the file's first bytes, not its name (PIL does the same). The
/// C calls keep libjpeg's and libpng's `longjmp` error handling inside C (the shims in
/// Sources/CJPEG and Sources/CPNG) and hand back messages rather than printing them.
public enum ImageDecoder {
  /// Decodes the image in `bytes`; `path` only names the file in errors.
  public static func decode(_ bytes: [UInt8], path: String) throws(ImageError) -> RGBImage {
    if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return try decodeJPEG(bytes, path: path) }
    if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return try decodePNG(bytes, path: path) }
    throw ImageError(path: path, reason: bytes.isEmpty ? "empty file" : "not a JPEG or PNG file (diswot decodes only these)")
  }

  /// Reads and decodes the file at `path`.
  public static func decode(path: String) throws(ImageError) -> RGBImage {
    let bytes: [UInt8]
    do {
      bytes = try BinaryFile.readPrefix(path, count: try BinaryFile.size(path))
    } catch {
      throw ImageError(path: path, reason: "\(error)")
    }
    return try decode(bytes, path: path)
  }

  private static func decodeJPEG(_ bytes: [UInt8], path: String) throws(ImageError) -> RGBImage {
    var pixels: UnsafeMutablePointer<UInt8>?
    var (width, height, components): (Int32, Int32, Int32) = (0, 0, 0)
    var message = [CChar](repeating: 0, count: 256)
    let status = bytes.withUnsafeBufferPointer { data in
      diswot_jpeg_decode(data.baseAddress, data.count, &pixels, &width, &height, &components, &message, message.count)
    }
    guard status == 0, let pixels else { throw ImageError(path: path, reason: "corrupt JPEG: " + text(message)) }
    defer { free(pixels) }
    let count = Int(width) * Int(height)
    if components == 3 {
      return RGBImage(width: Int(width), height: Int(height), pixels: Array(UnsafeBufferPointer(start: pixels, count: count * 3)))
    }
    return RGBImage(width: Int(width), height: Int(height), pixels: cmykToRGB(UnsafeBufferPointer(start: pixels, count: count * 4)))
  }

  /// Inverted (Adobe) CMYK as libjpeg returns it, to RGB as PIL computes it: PIL reads
  /// every 4-component JPEG as "CMYK;I" (c = 255 − stored) and its `cmyk2rgb` gives
  /// R = clip(nk − c·nk/255) with nk = 255 − k, the product rounded as its MULDIV255.
  static func cmykToRGB(_ stored: UnsafeBufferPointer<UInt8>) -> [UInt8] {
    let count = stored.count / 4
    var out = [UInt8](repeating: 0, count: count * 3)
    for i in 0..<count {
      let nk = Int(stored[4 * i + 3])  // 255 − (255 − stored k)
      for c in 0..<3 {
        let ink = 255 - Int(stored[4 * i + c])
        let product = ink * nk + 128
        out[3 * i + c] = UInt8(clamping: nk - (((product >> 8) + product) >> 8))
      }
    }
    return out
  }

  /// A C message buffer's text, up to its NUL.
  private static func text(_ message: [CChar]) -> String {
    String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  private static func decodePNG(_ bytes: [UInt8], path: String) throws(ImageError) -> RGBImage {
    var pixels: UnsafeMutablePointer<UInt8>?
    var (width, height): (Int32, Int32) = (0, 0)
    var message = [CChar](repeating: 0, count: 256)
    let status = bytes.withUnsafeBufferPointer { data in
      diswot_png_decode(data.baseAddress, data.count, &pixels, &width, &height, &message, message.count)
    }
    guard status == 0, let pixels else {
      throw ImageError(path: path, reason: (status == 2 ? "unsupported PNG: " : "corrupt PNG: ") + text(message))
    }
    defer { free(pixels) }
    return RGBImage(
      width: Int(width), height: Int(height), pixels: Array(UnsafeBufferPointer(start: pixels, count: Int(width) * Int(height) * 3)))
  }
}

/// An image file that could not be read or decoded, named with the reason.
public struct ImageError: Error, Equatable, CustomStringConvertible {
  public let path: String
  public let reason: String

  public var description: String { "cannot use image \(path): \(reason)" }
}
