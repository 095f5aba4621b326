// The weight gradient of a 3x3, stride-1, single-group convolution in the Winograd
// domain of F(4x4, 3x3) (`Conv2dWinograd.swift`).
//
// Forward, per tile and channel pair: Y = Aᵀ[U ⊙ V]A with U = G g Gᵀ and V = Bᵀ d B,
// summed over input channels. Differentiating, with dY the output gradient's 4x4 tile:
//   dM = A dY Aᵀ            (the output transform, transposed: 4x4 -> 6x6)
//   dU[e] = Σ_tiles V[e]ᵀ · dM[e]   for each of the 36 tile elements e: C x O sgemms
//   dg = Gᵀ dU G            (the kernel transform, transposed: 6x6 -> 3x3)
// The 36 sgemms do 36 multiplications per tile and channel pair where im2col does 144,
// and need neither the column matrix nor its repacking, which dominate im2col's weight
// gradient at the 16 to 64 channels of CIFAR ResNets. Output positions of partial tiles
// beyond the image get zero gradient, so partial tiles need no special case.

/// Weight-gradient partial sums are kept per chunk of work units (at most this many
/// chunks, and at most 4 Mi floats of partial sums in all), then added in chunk order,
/// so the result does not depend on the thread count.
private let maxChunks = 8
private let partialFloats = 1 << 22

/// input: [N, C, H, W], dOutput: [N, O, outH, outW] -> dWeight: [O, C, 3, 3] (+=)
func winogradConv2dWeightGradient(
  _ input: Tensor, dOutput: Tensor, shapes s: Conv2dShapes, dWeight: inout Tensor
) {
  let tiling = WinogradTiling(s)
  let inC = s.geometry.inChannels
  let outC = s.geometry.outChannels
  let pc = tiling.paddedC
  let po = tiling.paddedO
  let planeOut = s.outHeight * s.outWidth
  let uCount = 36 * inC * outC
  let chunks = max(1, min(tiling.units, maxChunks, partialFloats / uCount))
  // partials: [chunks][36][C, O]
  let partials = allocateScratch(chunks * uCount)
  defer { partials.deallocate() }

  input.withUnsafeBufferPointer { xBuffer in
    dOutput.withUnsafeBufferPointer { dyBuffer in
      let x = xBuffer.baseAddress!
      let dy = dyBuffer.baseAddress!
      Parallel.forEach(chunks) { chunk in
        // packed: [rows, paddedW, pc]; v: [36][tiles, pc]; m: [36][tiles, po]
        let packed = allocateScratch(
          tiling.packedRows(tileRows: tiling.tileRowsPerUnit) * tiling.paddedW * pc)
        let v = allocateScratch(36 * tiling.elementStride(tiles: tiling.maxTiles, channels: pc))
        let m = allocateScratch(36 * tiling.elementStride(tiles: tiling.maxTiles, channels: po))
        let scratch = allocateScratch(40 * WinogradLanes.scalarCount)
        defer { for p in [packed, v, m, scratch] { p.deallocate() } }
        let partial = partials + chunk * uCount

        for unit in tiling.units * chunk / chunks..<tiling.units * (chunk + 1) / chunks {
          let (images, tileRows) = tiling.unit(unit)
          let tilesPerImage = tileRows.count * tiling.tilesX
          let tiles = images.count * tilesPerImage
          let vStride = tiling.elementStride(tiles: tiles, channels: pc)
          let mStride = tiling.elementStride(tiles: tiles, channels: po)
          winogradTransformInputs(
            x, images: images, tileRows: tileRows, shapes: s, tiling: tiling, packed: packed, scratch: scratch,
            into: v, elementStride: vStride)
          for (i, n) in images.enumerated() {
            winogradOutputGradientTransform(
              dy + n * outC * planeOut, channels: outC, tileRows: tileRows, tiling: tiling,
              height: s.outHeight, width: s.outWidth, scratch: scratch,
              into: m + i * tilesPerImage * po, elementStride: mStride)
          }
          // dU[e] [C, O] += V[e]ᵀ [C, tiles] · dM[e] [tiles, O]
          for e in 0..<36 {
            gemm(
              transposeA: true, transposeB: false, m: inC, n: outC, k: tiles,
              a: v + e * vStride, lda: pc, b: m + e * mStride, ldb: po, beta: 1,
              c: partial + e * inC * outC, ldc: outC)
          }
        }
      }
    }
  }
  for chunk in 1..<chunks {
    let partial = partials + chunk * uCount
    for i in 0..<uCount { partials[i] += partial[i] }
  }
  dWeight.withUnsafeMutableBufferPointer { dw in
    winogradKernelGradientTransform(
      partials, inChannels: inC, outChannels: outC, into: dw.baseAddress!)
  }
}

/// `dM = A dY Aᵀ` for every tile in rows `tileRows` of one image's output gradient,
/// eight output channels at a time; positions beyond the image read as zero
/// (`scratch`: 40 lanes of floats).
///
/// dy: [channels, height, width] -> m: [36][tile, paddedO] (elements `elementStride` apart,
/// first tile = first of `tileRows`)
func winogradOutputGradientTransform(
  _ dy: UnsafePointer<Float>, channels: Int, tileRows: Range<Int>, tiling: WinogradTiling,
  height: Int, width: Int, scratch: UnsafeMutablePointer<Float>,
  into m: UnsafeMutablePointer<Float>, elementStride: Int
) {
  let po = tiling.paddedO
  let lanes = WinogradLanes.scalarCount
  let plane = height * width
  // tile: [4 rows][4 columns][lane] gathered from the planes; t: [4 rows][6][lane]
  let tile = scratch
  let t = scratch + 16 * lanes
  for ty in tileRows {
    let rows = min(4, height - 4 * ty)
    for tx in 0..<tiling.tilesX {
      let columns = min(4, width - 4 * tx)
      let dst = m + ((ty - tileRows.lowerBound) * tiling.tilesX + tx) * po
      for ob in stride(from: 0, to: po, by: lanes) {
        tile.update(repeating: 0, count: 16 * lanes)
        let base = dy + ob * plane + 4 * ty * width + 4 * tx
        for lane in 0..<max(0, min(lanes, channels - ob)) {
          let src = base + lane * plane
          for r in 0..<rows {
            for c in 0..<columns { tile[(r * 4 + c) * lanes + lane] = src[r * width + c] }
          }
        }
        // Along rows: t[r][b] = Σ_s A[b][s] dY[r][s].
        for r in 0..<4 {
          let p = tile + 4 * r * lanes
          let out = outputGradientTransform1D(
            load(p), load(p + lanes), load(p + 2 * lanes), load(p + 3 * lanes))
          let row = t + 6 * r * lanes
          store(out.0, row)
          store(out.1, row + lanes)
          store(out.2, row + 2 * lanes)
          store(out.3, row + 3 * lanes)
          store(out.4, row + 4 * lanes)
          store(out.5, row + 5 * lanes)
        }
        // Along columns: dM[a][b] = Σ_r A[a][r] t[r][b].
        for b in 0..<6 {
          let p = t + b * lanes
          let step = 6 * lanes
          let out = outputGradientTransform1D(
            load(p), load(p + step), load(p + 2 * step), load(p + 3 * step))
          let q = dst + b * elementStride + ob
          let step6 = 6 * elementStride
          store(out.0, q)
          store(out.1, q + step6)
          store(out.2, q + 2 * step6)
          store(out.3, q + 3 * step6)
          store(out.4, q + 4 * step6)
          store(out.5, q + 5 * step6)
        }
      }
    }
  }
}

/// `dg = Gᵀ dU G` for every channel pair, added to the kernel gradient.
///
/// dU: [36, C, O] -> dWeight: [O, C, 3, 3] (+=)
private func winogradKernelGradientTransform(
  _ du: UnsafePointer<Float>, inChannels: Int, outChannels: Int,
  into dWeight: UnsafeMutablePointer<Float>
) {
  let pairs = inChannels * outChannels
  withUnsafeTemporaryAllocation(of: Float.self, capacity: 18) { buffer in
    // t: [6][3], t[a][j] = Σ_b dU[a][b] G[b][j]; then dg[i][j] = Σ_a G[a][i] t[a][j].
    let t = buffer.baseAddress!
    for c in 0..<inChannels {
      for o in 0..<outChannels {
        let u = du + c * outChannels + o
        for a in 0..<6 {
          let row = u + 6 * a * pairs
          let g = kernelGradientTransform1D(
            row[0], row[pairs], row[2 * pairs], row[3 * pairs], row[4 * pairs], row[5 * pairs])
          (t[3 * a], t[3 * a + 1], t[3 * a + 2]) = g
        }
        let dst = dWeight + (o * inChannels + c) * 9
        for j in 0..<3 {
          let g = kernelGradientTransform1D(t[j], t[3 + j], t[6 + j], t[9 + j], t[12 + j], t[15 + j])
          dst[j] += g.0
          dst[3 + j] += g.1
          dst[6 + j] += g.2
        }
      }
    }
  }
}

/// `Gᵀ · (u0 … u5)` for F(4, 3): the adjoint of `kernelTransform1D`.
@inline(__always)
private func kernelGradientTransform1D(
  _ u0: Float, _ u1: Float, _ u2: Float, _ u3: Float, _ u4: Float, _ u5: Float
) -> (Float, Float, Float) {
  let s12 = u1 + u2, d21 = u2 - u1
  let s34 = u3 + u4, d34 = u3 - u4
  return (u0 / 4 - s12 / 6 + s34 / 24, d21 / 6 + d34 / 12, -s12 / 6 + s34 / 6 + u5)
}

/// `A · (d0 … d3)` for F(4, 3): the adjoint of `outputTransform1D`.
@inline(__always)
private func outputGradientTransform1D(
  _ d0: WinogradLanes, _ d1: WinogradLanes, _ d2: WinogradLanes, _ d3: WinogradLanes
) -> (WinogradLanes, WinogradLanes, WinogradLanes, WinogradLanes, WinogradLanes, WinogradLanes) {
  let s02 = d0 + d2, d13 = d1 + d3
  let q02 = d0 + 4 * d2, q13 = 2 * d1 + 8 * d3
  return (d0, s02 + d13, s02 - d13, q02 + q13, q02 - q13, d3)
}

@inline(__always)
private func load(_ p: UnsafePointer<Float>) -> WinogradLanes {
  UnsafeRawPointer(p).loadUnaligned(as: WinogradLanes.self)
}

@inline(__always)
private func store(_ value: WinogradLanes, _ p: UnsafeMutablePointer<Float>) {
  UnsafeMutableRawPointer(p).storeBytes(of: value, as: WinogradLanes.self)
}
