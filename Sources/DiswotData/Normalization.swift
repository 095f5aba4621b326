import DiswotTensor
import Foundation

/// Per-channel input normalisation, `(x - mean[c]) / std[c]`.
///
/// A network only sees the inputs it was trained on if they are normalised with the same
/// statistics, so callers prefer the values recorded in the weights file's metadata
/// (`mean`/`std` as comma-separated strings, parsed by `init(mean:std:channels:)`) and
/// fall back to the dataset's conventional defaults below.
public struct Normalization: Sendable, Equatable, CustomStringConvertible {
  /// Subtracted from each channel.
  public let mean: [Float]
  /// Divides each channel; every value is finite and positive.
  public let std: [Float]

  /// One mean and one std per channel; the stds must be finite and positive.
  public init(mean: [Float], std: [Float]) throws(DatasetError) {
    guard !mean.isEmpty, mean.count == std.count else {
      throw .invalidNormalization("mean has \(mean.count) values but std has \(std.count)")
    }
    guard mean.allSatisfy(\.isFinite) else {
      throw .invalidNormalization("mean \(mean) is not finite")
    }
    guard std.allSatisfy({ $0.isFinite && $0 > 0 }) else {
      throw .invalidNormalization("std \(std) must be finite and greater than 0")
    }
    self.mean = mean
    self.std = std
  }

  /// Parses comma-separated values such as `"0.485,0.456,0.406"` for images with
  /// `channels` channels.
  public init(mean: String, std: String, channels: Int) throws(DatasetError) {
    let meanValues = try Self.parseList(mean, named: "mean", channels: channels)
    let stdValues = try Self.parseList(std, named: "std", channels: channels)
    try self.init(mean: meanValues, std: stdValues)
  }

  /// Values known to be valid, for the defaults below.
  private init(known mean: [Float], _ std: [Float]) {
    self.mean = mean
    self.std = std
  }

  /// The usual CIFAR-10 training-set statistics.
  public static let cifar10 = Normalization(
    known: [0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616])
  /// The usual CIFAR-100 training-set statistics.
  public static let cifar100 = Normalization(
    known: [0.5071, 0.4865, 0.4409], [0.2673, 0.2564, 0.2762])
  /// The usual ImageNet training-set statistics (torchvision's pretrained models).
  public static let imagenet = Normalization(
    known: [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
  /// The usual MNIST training-set statistics.
  public static let mnist = Normalization(known: [0.1307], [0.3081])

  /// Number of channels this normalisation applies to.
  public var channels: Int { mean.count }

  /// Normalises [N, C, H, W] `images` in place; C must equal `channels`. Divides rather
  /// than multiplying by 1/std so that results match PyTorch's `Normalize` bit for bit.
  public func apply(to images: inout Tensor) throws(DatasetError) {
    guard images.rank == 4, images.c == channels else {
      throw .invalidNormalization(
        "\(channels)-channel mean/std cannot normalise images of shape \(images.shape) ([N, C, H, W])"
      )
    }
    let planeSize = images.h * images.w
    let planes = images.n * channels
    images.withUnsafeMutableBufferPointer { pixels in
      for plane in 0..<planes {
        let channel = plane % channels
        let (m, s) = (mean[channel], std[channel])
        let start = pixels.baseAddress! + plane * planeSize
        for i in 0..<planeSize {
          start[i] = (start[i] - m) / s
        }
      }
    }
  }

  public var description: String {
    let list = { (values: [Float]) in values.map { "\($0)" }.joined(separator: ",") }
    return "mean \(list(mean)) std \(list(std))"
  }

  private static func parseList(_ text: String, named name: String, channels: Int)
    throws(DatasetError) -> [Float]
  {
    let fields = text.split(separator: ",", omittingEmptySubsequences: false)
    var values: [Float] = []
    for field in fields {
      guard let value = Float(field.trimmingCharacters(in: .whitespaces)) else {
        throw .invalidNormalization("\(name) '\(text)': '\(field)' is not a number")
      }
      values.append(value)
    }
    guard values.count == channels else {
      throw .invalidNormalization(
        "\(name) '\(text)' has \(values.count) values for \(channels) channels")
    }
    return values
  }
}

extension Normalization {
  /// The one rule every command follows: `mean`/`std` when given (both), else the pair a
  /// weights file records in its metadata, else `data`'s usual statistics; nil when none
  /// of them is known (the caller says what to give).
  public static func chosen(
    mean: String? = nil, std: String? = nil, metadata: [String: String], data: DataSpec, channels: Int
  ) throws -> Normalization? {
    if let mean, let std { return try Normalization(mean: mean, std: std, channels: channels) }
    if let mean = metadata["mean"], let std = metadata["std"] { return try Normalization(mean: mean, std: std, channels: channels) }
    return data.defaultNormalization
  }
}
