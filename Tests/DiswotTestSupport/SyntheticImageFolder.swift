import Foundation

/// A small image folder in torchvision's ImageFolder layout, written at test time without
/// Python: PNG files from the minimal encoder below, whose classes differ in colour so a
/// few steps of training learn something, plus the committed JPEG fixture
/// (Tests/DiswotDataTests/Fixtures/images/rgb_37x53.jpg) in each split so that both
/// decoders run.
public enum SyntheticImageFolder {
  /// The package root, found from this source file's location (Tests/DiswotTestSupport/).
  private static let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// The committed JPEG fixture copied into class 0 of each split.
  public static let jpegFixture = packageRoot.appendingPathComponent("Tests/DiswotDataTests/Fixtures/images/rgb_37x53.jpg")

  /// Writes DIR/train/<class>/<i>.png (`train` per class) and DIR/val/<class>/<i>.png
  /// (`test` per class), `width`×`height` pixels each, plus the JPEG fixture as
  /// DIR/{train,val}/c0/photo.jpg; returns DIR (`at`, else a new temporary directory).
  public static func write(
    at directory: URL? = nil, classes: Int = 2, train: Int, test: Int, width: Int = 24, height: Int = 20, seed: UInt64 = 1
  ) throws -> URL {
    let root = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("diswot-folder-\(UUID())")
    var state = seed
    for (split, count) in [("train", train), ("val", test)] {
      for c in 0..<classes {
        let folder = root.appendingPathComponent("\(split)/c\(c)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for i in 0..<count {
          var pixels = [UInt8](repeating: 0, count: width * height * 3)
          for p in 0..<width * height {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let noise = Int(state >> 59)  // 0…31
            // Class c is bright in channel c mod 3, with noise; a gradient across the rows.
            for ch in 0..<3 {
              let base = ch == c % 3 ? 180 : 40
              pixels[3 * p + ch] = UInt8(min(255, base + noise + (p / width) * 2))
            }
          }
          try png(width: width, height: height, rgb: pixels).write(to: folder.appendingPathComponent(String(format: "%04d.png", i)))
        }
      }
      try FileManager.default.copyItem(at: jpegFixture, to: root.appendingPathComponent("\(split)/c0/photo.jpg"))
    }
    return root
  }

  /// A PNG file of 8-bit RGB pixels: signature, IHDR, one IDAT of zlib "stored" blocks
  /// (no compression, which every inflater reads) with filter 0 per row, IEND.
  public static func png(width: Int, height: Int, rgb: [UInt8]) -> Data {
    precondition(rgb.count == width * height * 3)
    var raw = [UInt8]()
    for y in 0..<height {
      raw.append(0)
      raw += rgb[y * width * 3..<(y + 1) * width * 3]
    }
    var zlib: [UInt8] = [0x78, 0x01]
    var offset = 0
    repeat {
      let n = min(65_535, raw.count - offset)
      let last: UInt8 = offset + n == raw.count ? 1 : 0
      zlib += [last, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
      zlib += raw[offset..<offset + n]
      offset += n
    } while offset < raw.count
    var (a, b): (UInt32, UInt32) = (1, 0)
    for byte in raw {
      a = (a + UInt32(byte)) % 65_521
      b = (b + a) % 65_521
    }
    zlib += bigEndian(b << 16 | a)
    var file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    file += chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0])
    file += chunk("IDAT", zlib)
    file += chunk("IEND", [])
    return Data(file)
  }

  private static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let body = Array(type.utf8) + data
    return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
  }

  private static func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
  }

  private static func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
  }
}

extension SyntheticImageFolder {
  /// Writes the images of the CIFAR-10-format dataset in `cifar` (as `SyntheticCIFAR`
  /// writes it) as 32×32 PNG files, losslessly, so they reach a network as the records do.
  /// Unlabelled (default): the training records in record order, the first half as
  /// DIR/0000.png…, the rest one folder down (DIR/more/0032.png…), found recursively in
  /// that order. `labelled`: an image folder of both splits instead,
  /// DIR/train/c<label>/NNNN.png and DIR/val/c<label>/NNNN.png (labels 0…9, one digit, so
  /// the class folders sort as the labels). Returns the number of training images.
  @discardableResult
  public static func writeImages(copying cifar: URL, to directory: URL, labelled: Bool = false) throws -> Int {
    func records(_ file: String) throws -> [ArraySlice<UInt8>] {
      let bytes = [UInt8](try Data(contentsOf: cifar.appendingPathComponent(file)))
      return stride(from: 0, to: bytes.count, by: 3073).map { bytes[$0..<($0 + 3073)] }
    }
    func write(_ record: ArraySlice<UInt8>, to file: URL) throws {
      // CIFAR stores a label byte, then planes (all red, all green, all blue); PNG interleaves them.
      let planes = Array(record.dropFirst())
      let rgb = (0..<1024).flatMap { p in [planes[p], planes[1024 + p], planes[2048 + p]] }
      try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
      try png(width: 32, height: 32, rgb: rgb).write(to: file)
    }
    let train = try (1...5).flatMap { try records("data_batch_\($0).bin") }
    for (i, record) in train.enumerated() {
      let name = String(format: "%04d.png", i)
      let folder = labelled ? "train/c\(record.first!)/" : i < train.count / 2 ? "" : "more/"
      try write(record, to: directory.appendingPathComponent(folder + name))
    }
    if labelled {
      for (i, record) in try records("test_batch.bin").enumerated() {
        try write(record, to: directory.appendingPathComponent("val/c\(record.first!)/" + String(format: "%04d.png", i)))
      }
    }
    return train.count
  }
}
