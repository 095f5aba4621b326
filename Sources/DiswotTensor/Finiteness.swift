extension Tensor {
  /// The first element that is NaN or infinite, with its index; nil when every element is
  /// finite. Loading weights and saving a trainer's checkpoint refuse tensors that have one.
  public var firstNonFinite: (index: Int, value: Float)? {
    withUnsafeBufferPointer { values in
      for i in values.indices where !values[i].isFinite { return (i, values[i]) }
      return nil
    }
  }
}
