// Winograd F(4x4, 3x3) for 3x3, stride-1, single-group convolutions (Lavin & Gray 2016).
//
// Each 4x4 output tile comes from a 6x6 input tile d: `Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A`.
// Summed over input channels, the element-wise product becomes, for each of the 36 tile
// elements e, one matrix product `M[e] (tiles x O) = V[e] (tiles x C) · U[e] (C x O)` —
// 36 multiplications per 16 outputs instead of 144, run by sgemm.
//
// Data are channels-last inside the kernel: each image (or band of image rows) is first
// packed into a zero-padded [H, W, C] copy, so a tile's pixels are contiguous vectors of
// 8 channels and both transforms are plain SIMD arithmetic with no gathers; the output
// transform scatters the channel vectors back to NCHW. See `WinogradTiling` for how the
// work is cut into units.

/// Eight channels at once: one AVX register, two SSE registers.
typealias WinogradLanes = SIMD8<Float>

/// A 3x3 kernel in the Winograd domain, ready for `conv2d_forward(_:winogradWeights:...)`.
public struct WinogradWeights: Sendable, Equatable {
  public let inChannels: Int
  public let outChannels: Int
  /// u: [36, inChannels, outChannels], element e = 6a + b of `G g Gᵀ` for every (c, o):
  /// the sgemm right-hand side for tile element e.
  let u: [Float]

  /// Whether F(4x4, 3x3) computes convolutions of this geometry.
  public static func supports(_ g: Conv2dGeometry) -> Bool {
    g.kernelH == 3 && g.kernelW == 3 && g.strideH == 1 && g.strideW == 1 && g.groups == 1
  }
}

/// Transforms a 3x3 kernel once into the Winograd domain (`u = G g Gᵀ` per channel pair).
///
/// weight: [O, C, 3, 3] -> u: [36, C, O]
public func winogradTransformWeights(
  _ weight: Tensor, geometry: Conv2dGeometry
) throws(TensorError) -> WinogradWeights {
  try geometry.validate()
  guard WinogradWeights.supports(geometry) else {
    throw .invalidArgument(
      "Winograd F(4x4,3x3) needs a 3x3 stride-1 single-group geometry, got kernel "
        + "\(geometry.kernelH)x\(geometry.kernelW), stride \(geometry.strideH)x\(geometry.strideW), "
        + "groups \(geometry.groups)")
  }
  guard weight.shape == geometry.weightShape else {
    throw .shapeMismatch("conv2d weight \(weight.shape), geometry expects \(geometry.weightShape)")
  }
  let inC = geometry.inChannels
  let outC = geometry.outChannels
  let lanes = WinogradLanes.scalarCount
  var u = [Float](repeating: 0, count: 36 * inC * outC)
  weight.withUnsafeBufferPointer { wBuffer in
    u.withUnsafeMutableBufferPointer { uBuffer in
      let w = wBuffer.baseAddress!
      let u = uBuffer.baseAddress!
      // Input channels in parallel (layers re-transform on every weight update), eight
      // output channels per vector so that every u[e][c] row is written contiguously.
      Parallel.forEach(inC) { c in
        // g: [9][lane] kernels, t: [6, 3][lane] column-transformed, row: [6][lane] of u
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 33 * lanes) { buffer in
          let g = buffer.baseAddress!
          let t = g + 9 * lanes
          let row = t + 18 * lanes
          g.initialize(repeating: 0, count: 9 * lanes)
          for ob in stride(from: 0, to: outC, by: lanes) {
            let count = min(lanes, outC - ob)
            for lane in 0..<count {
              let kernel = w + ((ob + lane) * inC + c) * 9
              for i in 0..<9 { g[i * lanes + lane] = kernel[i] }
            }
            // Columns first: t[a][j] = Σ_i G[a][i] g[i][j].
            for j in 0..<3 {
              kernelTransform1D(
                load(g + j * lanes), load(g + (3 + j) * lanes), load(g + (6 + j) * lanes),
                into: t + j * lanes, step: 3 * lanes)
            }
            // Then rows: u[a][b] = Σ_j t[a][j] G[b][j], written to u[6a + b][c][ob...].
            for a in 0..<6 {
              let ta = t + 3 * a * lanes
              kernelTransform1D(
                load(ta), load(ta + lanes), load(ta + 2 * lanes), into: row, step: lanes)
              for b in 0..<6 {
                (u + ((6 * a + b) * inC + c) * outC + ob).update(
                  from: row + b * lanes, count: count)
              }
            }
          }
        }
      }
    }
  }
  return WinogradWeights(inChannels: inC, outChannels: outC, u: u)
}

/// `G · (g0, g1, g2)` for F(4, 3) with interpolation points 0, ±1, ±2, ∞, written to
/// `out`, `out + step`, … `out + 5·step`.
@inline(__always)
private func kernelTransform1D(
  _ g0: WinogradLanes, _ g1: WinogradLanes, _ g2: WinogradLanes,
  into out: UnsafeMutablePointer<Float>, step: Int
) {
  let sum = (g0 + g2) * (-1 / 6 as Float)
  let odd = g1 * (1 / 6 as Float)
  let quarter = g0 * (1 / 24 as Float) + g2 * (1 / 6 as Float)
  let half = g1 * (1 / 12 as Float)
  store(g0 * 0.25, out)
  store(sum - odd, out + step)
  store(sum + odd, out + 2 * step)
  store(quarter + half, out + 3 * step)
  store(quarter - half, out + 4 * step)
  store(g2, out + 5 * step)
}

/// How a batch is cut into tiles and work units; shared by forward and backward passes.
///
/// A unit is either several whole images (small images) or a band of tile rows of one
/// image (large images), so every unit holds about `targetTiles` tiles: enough rows for
/// sgemm to amortise its packing, few enough that a unit's workspaces stay in L2
/// whatever the image size. Units do not depend on the worker count.
struct WinogradTiling {
  /// Output tiles per image: 4x4 pixels each, the last row and column possibly partial.
  let tilesY, tilesX: Int
  /// Width of the zero-padded image that covers every tile (4·tilesX + 2); the input
  /// sits at column padW (and row padH).
  let paddedW: Int
  /// Channel counts rounded up to whole `WinogradLanes`.
  let paddedC, paddedO: Int
  /// Whole images per unit (1 when an image has at least `targetTiles` tiles).
  let imagesPerUnit: Int
  /// Tile rows per unit (all of them when an image has fewer than `targetTiles` tiles).
  let tileRowsPerUnit: Int
  /// Work units in the batch.
  let units: Int
  private let batch, bands: Int

  /// Tiles per unit aimed for.
  static let targetTiles = 64

  init(_ s: Conv2dShapes) {
    tilesY = (s.outHeight + 3) / 4
    tilesX = (s.outWidth + 3) / 4
    paddedW = 4 * tilesX + 2
    let lanes = WinogradLanes.scalarCount
    paddedC = (s.geometry.inChannels + lanes - 1) / lanes * lanes
    paddedO = (s.geometry.outChannels + lanes - 1) / lanes * lanes
    imagesPerUnit = max(1, min(s.batch, Self.targetTiles / (tilesY * tilesX)))
    tileRowsPerUnit = min(tilesY, max(1, Self.targetTiles / tilesX))
    batch = s.batch
    bands = (tilesY + tileRowsPerUnit - 1) / tileRowsPerUnit
    units = (batch + imagesPerUnit - 1) / imagesPerUnit * bands
  }

  /// The images and tile rows (of each of those images) of work unit `index`.
  func unit(_ index: Int) -> (images: Range<Int>, tileRows: Range<Int>) {
    let firstImage = index / bands * imagesPerUnit
    let firstRow = index % bands * tileRowsPerUnit
    return (
      firstImage..<min(batch, firstImage + imagesPerUnit),
      firstRow..<min(tilesY, firstRow + tileRowsPerUnit)
    )
  }

  /// Most tiles in one unit.
  var maxTiles: Int { imagesPerUnit * tileRowsPerUnit * tilesX }
  /// Padded rows a band of `tileRows` tile rows reads (tiles overlap by two rows).
  func packedRows(tileRows: Int) -> Int { 4 * tileRows + 2 }

  /// Distance between tile elements in the V and M workspaces: one extra cache line
  /// beyond the data so that the 36 streams do not all map to the same L1 set when the
  /// data size is a multiple of 4 KiB.
  func elementStride(tiles: Int, channels: Int) -> Int { tiles * channels + 16 }
}

/// input: [N, C, H, W], bias: [O] or nil -> [N, O, outH, outW]
func winogradConv2d(
  _ input: Tensor, weights: WinogradWeights, bias: Tensor?, shapes s: Conv2dShapes
) throws(TensorError) -> Tensor {
  let tiling = WinogradTiling(s)
  let inC = weights.inChannels
  let outC = weights.outChannels
  let pc = tiling.paddedC
  let po = tiling.paddedO
  let planeOut = s.outHeight * s.outWidth

  return try makeTensor(shape: s.outputShape) { y in
    input.withUnsafeBufferPointer { xBuffer in
      weights.u.withUnsafeBufferPointer { uBuffer in
        let x = xBuffer.baseAddress!
        let u = uBuffer.baseAddress!
        forEachWorkerRange(tiling.units) { unitRange in
          // packed: [rows, paddedW, pc]; v: [36][tiles, pc]; m: [36][tiles, po]
          let packed = allocateScratch(
            tiling.packedRows(tileRows: tiling.tileRowsPerUnit) * tiling.paddedW * pc)
          let v = allocateScratch(36 * tiling.elementStride(tiles: tiling.maxTiles, channels: pc))
          let m = allocateScratch(36 * tiling.elementStride(tiles: tiling.maxTiles, channels: po))
          let scratch = allocateScratch(40 * WinogradLanes.scalarCount)
          let paddedBias = allocateScratch(po)
          defer {
            for p in [packed, v, m, scratch, paddedBias] { p.deallocate() }
          }
          bias?.withUnsafeBufferPointer { paddedBias.update(from: $0.baseAddress!, count: outC) }

          for unit in unitRange {
            let (images, tileRows) = tiling.unit(unit)
            let tilesPerImage = tileRows.count * tiling.tilesX
            let tiles = images.count * tilesPerImage
            let vStride = tiling.elementStride(tiles: tiles, channels: pc)
            let mStride = tiling.elementStride(tiles: tiles, channels: po)
            winogradTransformInputs(
              x, images: images, tileRows: tileRows, shapes: s, tiling: tiling, packed: packed, scratch: scratch,
              into: v, elementStride: vStride)
            for e in 0..<36 {
              sgemm(
                m: tiles, n: outC, k: inC, a: v + e * vStride, lda: pc, b: u + e * inC * outC,
                ldb: outC, c: m + e * mStride, ldc: po)
            }
            for (i, n) in images.enumerated() {
              winogradOutputTransform(
                m + i * tilesPerImage * po, elementStride: mStride, bias: paddedBias,
                channels: outC, tileRows: tileRows, tiling: tiling, scratch: scratch,
                into: y + n * outC * planeOut, height: s.outHeight, width: s.outWidth)
            }
          }
        }
      }
    }
  }
}

/// Copies rows `paddedRows` of the zero-padded image, channels last, into `packed`.
/// Rows outside the image are zeroed; the left and right borders and the channels beyond
/// `channels` are never written, so they keep the zeros the buffer started with.
///
/// src: [channels, height, width] -> packed: [paddedRows.count, paddedW, paddedC]
/// Packs and transforms one work unit's input tiles: image `images[i]`'s tiles land at
/// `v + i · tilesPerImage · paddedC` of every tile element. Shared by the forward pass and
/// the weight gradient.
/// x: [N, C, H, W] -> v: [36][tiles, paddedC] (elementStride apart)
func winogradTransformInputs(
  _ x: UnsafePointer<Float>, images: Range<Int>, tileRows: Range<Int>, shapes s: Conv2dShapes,
  tiling: WinogradTiling, packed: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
  into v: UnsafeMutablePointer<Float>, elementStride: Int
) {
  let inC = s.geometry.inChannels
  let tilesPerImage = tileRows.count * tiling.tilesX
  for (i, n) in images.enumerated() {
    winogradPack(
      x + n * inC * s.height * s.width, channels: inC, height: s.height, width: s.width,
      padH: s.geometry.padH, padW: s.geometry.padW, tiling: tiling,
      paddedRows: 4 * tileRows.lowerBound..<4 * tileRows.upperBound + 2, into: packed)
    winogradInputTransform(
      packed, tileRows: tileRows.count, tiling: tiling, scratch: scratch,
      into: v + i * tilesPerImage * tiling.paddedC, elementStride: elementStride)
  }
}

func winogradPack(
  _ src: UnsafePointer<Float>, channels: Int, height: Int, width: Int, padH: Int, padW: Int,
  tiling: WinogradTiling, paddedRows: Range<Int>, into packed: UnsafeMutablePointer<Float>
) {
  let pc = tiling.paddedC
  let rowFloats = tiling.paddedW * pc
  for (r, paddedRow) in paddedRows.enumerated() {
    let iy = paddedRow - padH
    let dstRow = packed + r * rowFloats
    guard iy >= 0 && iy < height else {
      dstRow.update(repeating: 0, count: rowFloats)
      continue
    }
    // Channel by channel within the row, so the destination row stays in L1.
    let dst = dstRow + padW * pc
    for c in 0..<channels {
      let srcRow = src + (c * height + iy) * width
      for ix in 0..<width { dst[ix * pc + c] = srcRow[ix] }
    }
  }
}

/// `V = Bᵀ d B` for every tile of a packed band of `tileRows` tile rows (`scratch`: 36
/// lanes of floats).
///
/// packed: [4·tileRows + 2, paddedW, paddedC] -> v: [36][tile, paddedC] (elements
/// `elementStride` apart)
func winogradInputTransform(
  _ packed: UnsafePointer<Float>, tileRows: Int, tiling: WinogradTiling,
  scratch: UnsafeMutablePointer<Float>, into v: UnsafeMutablePointer<Float>, elementStride: Int
) {
  let pc = tiling.paddedC
  let lanes = WinogradLanes.scalarCount
  let rowStride = tiling.paddedW * pc
  for ty in 0..<tileRows {
    for tx in 0..<tiling.tilesX {
      let tile = packed + (4 * ty * tiling.paddedW + 4 * tx) * pc
      let dst = v + (ty * tiling.tilesX + tx) * pc
      for cb in stride(from: 0, to: pc, by: lanes) {
        // Along rows: t[i][b] = Σ_j d[i][j] Bᵀ[b][j].
        for i in 0..<6 {
          let d = tile + i * rowStride + cb
          let r = inputTransform1D(
            load(d), load(d + pc), load(d + 2 * pc), load(d + 3 * pc), load(d + 4 * pc),
            load(d + 5 * pc))
          let t = scratch + i * 6 * lanes
          store(r.0, t)
          store(r.1, t + lanes)
          store(r.2, t + 2 * lanes)
          store(r.3, t + 3 * lanes)
          store(r.4, t + 4 * lanes)
          store(r.5, t + 5 * lanes)
        }
        // Along columns: V[a][b] = Σ_i Bᵀ[a][i] t[i][b].
        for b in 0..<6 {
          let t = scratch + b * lanes
          let step = 6 * lanes
          let r = inputTransform1D(
            load(t), load(t + step), load(t + 2 * step), load(t + 3 * step),
            load(t + 4 * step), load(t + 5 * step))
          let out = dst + b * elementStride + cb
          let step6 = 6 * elementStride
          store(r.0, out)
          store(r.1, out + step6)
          store(r.2, out + 2 * step6)
          store(r.3, out + 3 * step6)
          store(r.4, out + 4 * step6)
          store(r.5, out + 5 * step6)
        }
      }
    }
  }
}

/// `Y = Aᵀ M A + bias` for the tiles in rows `tileRows` of one image, written into the
/// NCHW output; tiles overhanging the bottom or right edge write only their valid part
/// (`scratch`: 40 lanes of floats).
///
/// m: [36][tile, paddedO] (elements `elementStride` apart, first tile = first of
/// `tileRows`), bias: [paddedO] -> out: [channels, height, width]
func winogradOutputTransform(
  _ m: UnsafePointer<Float>, elementStride: Int, bias: UnsafePointer<Float>, channels: Int,
  tileRows: Range<Int>, tiling: WinogradTiling, scratch: UnsafeMutablePointer<Float>,
  into out: UnsafeMutablePointer<Float>, height: Int, width: Int
) {
  let po = tiling.paddedO
  let lanes = WinogradLanes.scalarCount
  let plane = height * width
  for ty in tileRows {
    let rows = min(4, height - 4 * ty)
    for tx in 0..<tiling.tilesX {
      let columns = min(4, width - 4 * tx)
      let src = m + ((ty - tileRows.lowerBound) * tiling.tilesX + tx) * po
      for ob in stride(from: 0, to: po, by: lanes) {
        // Along rows: t[a][s] = Σ_b M[a][b] Aᵀ[s][b]  (6x4).
        for a in 0..<6 {
          let p = src + 6 * a * elementStride + ob
          let r = outputTransform1D(
            load(p), load(p + elementStride), load(p + 2 * elementStride),
            load(p + 3 * elementStride), load(p + 4 * elementStride), load(p + 5 * elementStride))
          let t = scratch + a * 4 * lanes
          store(r.0, t)
          store(r.1, t + lanes)
          store(r.2, t + 2 * lanes)
          store(r.3, t + 3 * lanes)
        }
        // Along columns: Y[r][s] = Σ_a Aᵀ[r][a] t[a][s] + bias, kept in scratch [r][s][lane].
        let b = load(bias + ob)
        let result = scratch + 24 * lanes
        for s in 0..<4 {
          let t = scratch + s * lanes
          let step = 4 * lanes
          let r = outputTransform1D(
            load(t), load(t + step), load(t + 2 * step), load(t + 3 * step), load(t + 4 * step),
            load(t + 5 * step))
          let y = result + s * lanes
          store(r.0 + b, y)
          store(r.1 + b, y + step)
          store(r.2 + b, y + 2 * step)
          store(r.3 + b, y + 3 * step)
        }
        // Scatter the channel vectors to their planes.
        let base = out + ob * plane + 4 * ty * width + 4 * tx
        for lane in 0..<min(lanes, channels - ob) {
          let dst = base + lane * plane
          let src = result + lane
          if rows == 4 && columns == 4 {
            // Interior tile: each output row is one 4-float store.
            for r in 0..<4 {
              let row = src + 4 * r * lanes
              let v = SIMD4(row[0], row[lanes], row[2 * lanes], row[3 * lanes])
              UnsafeMutableRawPointer(dst + r * width).storeBytes(of: v, as: SIMD4<Float>.self)
            }
          } else {
            for r in 0..<rows {
              for s in 0..<columns { dst[r * width + s] = src[(r * 4 + s) * lanes] }
            }
          }
        }
      }
    }
  }
}

/// `Bᵀ · (d0 … d5)` for F(4, 3); shared subexpressions keep it to 18 vector operations.
@inline(__always)
private func inputTransform1D(
  _ d0: WinogradLanes, _ d1: WinogradLanes, _ d2: WinogradLanes, _ d3: WinogradLanes,
  _ d4: WinogradLanes, _ d5: WinogradLanes
) -> (WinogradLanes, WinogradLanes, WinogradLanes, WinogradLanes, WinogradLanes, WinogradLanes) {
  let s12 = d1 + d2
  let d12 = d1 - d2
  let s34 = d3 + d4
  let d43 = d4 - d3
  let d42 = d4 - d2
  let d31 = d3 - d1
  return (
    4 * d0 - 5 * d2 + d4,
    s34 - 4 * s12,
    d43 + 4 * d12,
    d42 + 2 * d31,
    d42 - 2 * d31,
    4 * d1 - 5 * d3 + d5
  )
}

/// `Aᵀ · (m0 … m5)` for F(4, 3).
@inline(__always)
private func outputTransform1D(
  _ m0: WinogradLanes, _ m1: WinogradLanes, _ m2: WinogradLanes, _ m3: WinogradLanes,
  _ m4: WinogradLanes, _ m5: WinogradLanes
) -> (WinogradLanes, WinogradLanes, WinogradLanes, WinogradLanes) {
  let s12 = m1 + m2
  let d12 = m1 - m2
  let s34 = m3 + m4
  let d34 = m3 - m4
  return (m0 + s12 + s34, d12 + 2 * d34, s12 + 4 * s34, d12 + 8 * d34 + m5)
}

@inline(__always)
private func load(_ p: UnsafePointer<Float>) -> WinogradLanes {
  UnsafeRawPointer(p).loadUnaligned(as: WinogradLanes.self)
}

@inline(__always)
private func store(_ value: WinogradLanes, _ p: UnsafeMutablePointer<Float>) {
  UnsafeMutableRawPointer(p).storeBytes(of: value, as: WinogradLanes.self)
}
