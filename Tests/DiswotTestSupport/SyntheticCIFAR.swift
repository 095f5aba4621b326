import Foundation

/// Writes a small CIFAR-10-format dataset whose classes are easy to tell apart (each
/// class has its own colour and stripe orientation, plus noise), so training tests can
/// check that loss falls and accuracy rises in seconds, on any machine.
public enum SyntheticCIFAR {
  /// Creates `data_batch_1…5.bin` (`train` records spread over the five) and
  /// `test_batch.bin` (`test` records) in a new temporary directory and returns it.
  public static func write(train: Int, test: Int, seed: UInt64 = 1) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-synthetic-\(UUID())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    var state = seed
    func next() -> UInt64 {  // SplitMix64
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    func records(_ count: Int) -> [UInt8] {
      var bytes: [UInt8] = []
      bytes.reserveCapacity(count * 3073)
      for _ in 0..<count {
        let label = Int(next() % 10)
        bytes.append(UInt8(label))
        for channel in 0..<3 {
          let base = (label * 37 + channel * 80) % 256
          for y in 0..<32 {
            for x in 0..<32 {
              let stripe = ((label % 2 == 0 ? x : y) / (2 + label % 3)) % 2 == 0 ? 40 : -40
              let noise = Int(next() % 61) - 30
              bytes.append(UInt8(clamping: base + stripe + noise))
            }
          }
        }
      }
      return bytes
    }
    for i in 1...5 {
      let count = train / 5 + (i <= train % 5 ? 1 : 0)
      try Data(records(count)).write(to: dir.appendingPathComponent("data_batch_\(i).bin"))
    }
    try Data(records(test)).write(to: dir.appendingPathComponent("test_batch.bin"))
    return dir
  }
}
