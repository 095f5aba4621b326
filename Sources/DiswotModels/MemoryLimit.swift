import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many bytes scoring one network may take (`--max-memory`): architectures whose
/// estimated footprint (`MemoryFootprint.scoringBytes`) is larger are refused before they
/// are built, instead of being allocated until the process dies.
public struct MemoryLimit: Sendable, Equatable, Codable, CustomStringConvertible {
  public var bytes: Int

  public init(bytes: Int) { self.bytes = bytes }

  /// The default: half of the memory this process can use — the machine's physical
  /// memory (`sysconf`), or the cgroup's limit when a container sets a smaller one —
  /// leaving the other half to the teacher, the probe data, the other processes and the
  /// estimate's error.
  public static var machineDefault: MemoryLimit { MemoryLimit(bytes: available / 2) }

  /// Physical memory, or the cgroup v2 limit (`/sys/fs/cgroup/memory.max`) when smaller.
  static var available: Int {
    let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
    var bytes = pages > 0 && pageSize > 0 ? pages * pageSize : 1 << 33
    if let text = try? String(contentsOfFile: "/sys/fs/cgroup/memory.max", encoding: .utf8),
      let limit = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), limit > 0
    {
      bytes = min(bytes, limit)
    }
    return bytes
  }

  /// Parses `8G`, `512M`, `1.5GiB`, `64k` or a plain byte count (binary units: K = 1024);
  /// nil for anything else, zero or more than 2⁶⁰ bytes.
  public init?(parsing text: String) {
    let units: [(String, Double)] = [("t", 0x1p40), ("g", 0x1p30), ("m", 0x1p20), ("k", 0x1p10), ("", 1)]
    var body = text.trimmingCharacters(in: .whitespaces).lowercased()
    for suffix in ["ib", "b"] where body.hasSuffix(suffix) && body.count > suffix.count {
      body.removeLast(suffix.count)
      break
    }
    guard let (suffix, scale) = units.first(where: { body.hasSuffix($0.0) }),
      let number = Double(body.dropLast(suffix.count)), number.isFinite, number > 0, number * scale <= 0x1p60
    else { return nil }
    bytes = Int(number * scale)
    guard bytes > 0 else { return nil }
  }

  public var description: String { Self.format(bytes) }

  /// `1.5 GiB`, `312 MiB`, `12 KiB`, `800 B`.
  public static func format(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var value = Double(bytes), unit = 0
    while value >= 1024, unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: value < 10 ? "%.1f" : "%.0f", value) + " " + units[unit]
  }
}
