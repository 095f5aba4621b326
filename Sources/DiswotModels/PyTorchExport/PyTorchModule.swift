/// A self-contained PyTorch source file for a network built here: the family's modules
/// followed by `class Student`, whose constructor takes no arguments and builds exactly
/// this architecture.
///
/// Why a source file and not a pickled module: the student must load with nothing of
/// diswot installed, in any PyTorch, and be readable. The family code is fixed text (one
/// template per family, checked against PyTorch by Scripts/check-export.sh); only the
/// `Student` call varies, and every value printed into it comes from a validated
/// description, never from a weights file's metadata strings, so a crafted file cannot
/// inject code. The modules register their layers under diswot's `state_dict` names, so
/// `Student().load_state_dict(load_file(…), strict=True)` takes diswot's weights files, and
/// compute diswot's forward pass (inference and training-mode batch norm alike).
public enum PyTorchModule {
  /// The per-channel input normalisation the weights expect, printed as `MEAN` and `STD`.
  public struct Normalization: Sendable, Equatable {
    public var mean: [Float]
    public var std: [Float]

    public init(mean: [Float], std: [Float]) {
      self.mean = mean
      self.std = std
    }
  }

  /// The source of `model`'s architecture as `class Student`, with `normalization` when
  /// known (nil: the file says it was not recorded).
  public static func source(for model: any Classifier, normalization: Normalization? = nil) throws(ModelError) -> String {
    let (name, definitions, student): (String, String, String)
    switch model {
    case let resnet as ResNetCIFAR:
      (name, definitions, student) = (resnet.description.name, resNetDefinitions, resNetStudent(resnet.description))
    case let network as TorchvisionResNet:
      (name, definitions, student) = (
        network.description.name, torchvisionResNetDefinitions, torchvisionResNetStudent(network.description))
    case let network as NASBench201Network:
      (name, definitions, student) = (network.description.name, nasBench201Definitions, nasBench201Student(network.description))
    case let network as MobileNetV2Network:
      (name, definitions, student) = (network.description.name, mobileNetV2Definitions, mobileNetV2Student(network.description))
    case let network as WideResNet:
      (name, definitions, student) = (network.description.name, wideResNetDefinitions, wideResNetStudent(network.description))
    case let network as VGGNetwork:
      (name, definitions, student) = (network.description.name, vggDefinitions, vggStudent(network.description))
    default:
      throw .invalidDescription("no PyTorch export for \(type(of: model))")
    }
    return [header(name: name, normalization: normalization), definitions, student].joined(separator: "\n\n\n") + "\n"
  }

  /// The docstring, imports and constants every file starts with.
  static func header(name: String, normalization: Normalization?) -> String {
    let inputs: String
    let constants: String
    if let normalization {
      inputs = "scaled to [0, 1] and normalised per channel with MEAN and STD"
      constants = """
        MEAN = \(pythonTuple(normalization.mean))
        STD = \(pythonTuple(normalization.std))
        """
    } else {
      inputs = "scaled to [0, 1] and normalised as the weights were trained (not recorded where\nthis file was exported from)"
      constants = "MEAN = STD = None  # the input normalisation was not recorded"
    }
    return """
      \"\"\"\(name) as a PyTorch module, written by `diswot export`.

      Self-contained: needs PyTorch only. The state_dict names, shapes and dtypes are those of
      diswot's safetensors files (num_batches_tracked included), so

          from safetensors.torch import load_file
          model = Student()
          model.load_state_dict(load_file("student.safetensors"), strict=True)
          model.eval()

      loads weights diswot trained or exported and computes diswot's logits for [N, C, H, W]
      images \(inputs).
      \"\"\"

      import torch
      import torch.nn.functional as F
      from torch import nn

      ARCHITECTURE = "\(name)"
      \(constants)
      """
  }

  /// `[3, 3, 3]`
  static func pythonList(_ values: [Int]) -> String { "[" + values.map(String.init).joined(separator: ", ") + "]" }

  /// `(0.485, 0.456, 0.406)`, a one-element tuple with its trailing comma.
  static func pythonTuple(_ values: [Float]) -> String {
    "(" + values.map { "\($0)" }.joined(separator: ", ") + (values.count == 1 ? ",)" : ")")
  }
}
