#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Foundation's file errors in plain words. Their own text is
/// `Error Domain=NSCocoaErrorDomain Code=513 "…" UserInfo={…}`, which tells a user
/// nothing; every message that reaches the user says "cannot write PATH: permission
/// denied" instead.
public enum FileErrors {
  /// The reason alone, lowercase as in "cannot write PATH: permission denied": the
  /// system's own message for the underlying POSIX error when there is one.
  public static func reason(_ error: any Error) -> String {
    let ns = error as NSError
    // The underlying error is a POSIXError on Linux, an NSError elsewhere: bridge either.
    if let underlying = (ns.userInfo[NSUnderlyingErrorKey] as? any Error).map({ $0 as NSError }),
      underlying.domain == NSPOSIXErrorDomain
    {
      return systemMessage(Int32(underlying.code))
    }
    if ns.domain == NSPOSIXErrorDomain { return systemMessage(Int32(ns.code)) }
    guard ns.domain == NSCocoaErrorDomain else { return String(describing: error) }
    switch CocoaError.Code(rawValue: ns.code) {
    case .fileWriteNoPermission, .fileReadNoPermission: return systemMessage(EACCES)
    case .fileNoSuchFile, .fileReadNoSuchFile: return systemMessage(ENOENT)
    case .fileWriteOutOfSpace: return systemMessage(ENOSPC)
    case .fileWriteVolumeReadOnly: return systemMessage(EROFS)
    case .fileWriteFileExists: return systemMessage(EEXIST)
    default: return "file error \(ns.code)"
    }
  }

  /// "cannot write PATH: reason" for a Foundation file error, nil for any other error.
  public static func describe(_ error: any Error) -> String? {
    let ns = error as NSError
    guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return nil }
    let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
    // Cocoa's file error codes: 256-511 reading, 512-1023 writing.
    let verb = switch ns.code {
    case 256..<512 where ns.domain == NSCocoaErrorDomain: "cannot read"
    case 512..<1024 where ns.domain == NSCocoaErrorDomain: "cannot write"
    default: "cannot use"
    }
    return path.map { "\(verb) \($0): \(reason(error))" } ?? "\(verb) a file: \(reason(error))"
  }

  /// strerror's text with a lowercase first letter ("permission denied").
  public static func systemMessage(_ code: Int32) -> String {
    let text = String(cString: strerror(code))
    return text.prefix(1).lowercased() + text.dropFirst()
  }
}
