/**
 * Small dense linear algebra in float64 with fixed loop and summation orders (no FMA, no
 * library calls beyond Math.sqrt / Math.abs), so results are bit-identical on every IEEE-754
 * engine. "Panels" are sets of k vectors of length n stored contiguously (k × n, row-major).
 */

/** out (k × rows) = panel (k × cols) · Mᵀ, i.e. out[a][i] = Σ_j M[i][j] · panel[a][j] (j ascending). */
export function panelTimesMt(m: Float64Array, rows: number, cols: number, panel: Float64Array, k: number): Float64Array {
  const out = new Float64Array(k * rows);
  for (let a = 0; a < k; a++) {
    const po = a * cols;
    for (let i = 0; i < rows; i++) {
      const mo = i * cols;
      let s = 0;
      for (let j = 0; j < cols; j++) s += m[mo + j] * panel[po + j];
      out[a * rows + i] = s;
    }
  }
  return out;
}

/** out (k × cols) = panel (k × rows) · M, i.e. out[a][j] = Σ_i panel[a][i] · M[i][j] (i ascending). */
export function panelTimesM(m: Float64Array, rows: number, cols: number, panel: Float64Array, k: number): Float64Array {
  const out = new Float64Array(k * cols);
  for (let a = 0; a < k; a++) {
    const oo = a * cols;
    const po = a * rows;
    for (let i = 0; i < rows; i++) {
      const p = panel[po + i];
      if (p === 0) continue; // adding p·x = ±0 never changes a sum that is not -0; sums start at +0
      const mo = i * cols;
      for (let j = 0; j < cols; j++) out[oo + j] += p * m[mo + j];
    }
  }
  return out;
}

/** Gram matrix G (k × k) of a panel: G[a][b] = Σ_j P[a][j] · P[b][j]. */
export function gram(panel: Float64Array, k: number, n: number): Float64Array {
  const g = new Float64Array(k * k);
  for (let a = 0; a < k; a++) {
    for (let b = a; b < k; b++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += panel[a * n + j] * panel[b * n + j];
      g[a * k + b] = s;
      g[b * k + a] = s;
    }
  }
  return g;
}

/**
 * Orthonormalises the k vectors of a panel in place (modified Gram–Schmidt, two passes).
 * Vectors that vanish (norm below 1e-12 of their original norm, or exactly 0) become 0.
 */
export function orthonormalize(panel: Float64Array, k: number, n: number): void {
  for (let a = 0; a < k; a++) {
    const ao = a * n;
    let norm0 = 0;
    for (let j = 0; j < n; j++) norm0 += panel[ao + j] * panel[ao + j];
    norm0 = Math.sqrt(norm0);
    for (let pass = 0; pass < 2; pass++) {
      for (let b = 0; b < a; b++) {
        const bo = b * n;
        let dot = 0;
        for (let j = 0; j < n; j++) dot += panel[ao + j] * panel[bo + j];
        if (dot === 0) continue;
        for (let j = 0; j < n; j++) panel[ao + j] -= dot * panel[bo + j];
      }
    }
    let norm = 0;
    for (let j = 0; j < n; j++) norm += panel[ao + j] * panel[ao + j];
    norm = Math.sqrt(norm);
    if (norm === 0 || norm <= 1e-12 * norm0) {
      for (let j = 0; j < n; j++) panel[ao + j] = 0;
    } else {
      for (let j = 0; j < n; j++) panel[ao + j] /= norm;
    }
  }
}

/**
 * Eigen-decomposition of a symmetric k × k matrix by cyclic Jacobi rotations (fixed sweep order,
 * at most 64 sweeps). Returns eigenvalues sorted descending (ties by index) and the matching
 * eigenvectors as rows of `vectors` (k × k).
 */
export function symmetricEigen(input: Float64Array, k: number): { values: Float64Array; vectors: Float64Array } {
  const a = input.slice();
  const v = new Float64Array(k * k);
  for (let i = 0; i < k; i++) v[i * k + i] = 1;
  for (let sweep = 0; sweep < 64; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < k; p++) {
      diag += a[p * k + p] * a[p * k + p];
      for (let q = p + 1; q < k; q++) off += a[p * k + q] * a[p * k + q];
    }
    if (off === 0 || off <= 1e-30 * diag) break;
    for (let p = 0; p < k - 1; p++) {
      for (let q = p + 1; q < k; q++) {
        const apq = a[p * k + q];
        if (apq === 0) continue;
        const app = a[p * k + p];
        const aqq = a[q * k + q];
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A ← Jᵀ A J on rows/cols p and q
        for (let r = 0; r < k; r++) {
          const arp = a[r * k + p];
          const arq = a[r * k + q];
          a[r * k + p] = c * arp - s * arq;
          a[r * k + q] = s * arp + c * arq;
        }
        for (let r = 0; r < k; r++) {
          const apr = a[p * k + r];
          const aqr = a[q * k + r];
          a[p * k + r] = c * apr - s * aqr;
          a[q * k + r] = s * apr + c * aqr;
        }
        for (let r = 0; r < k; r++) {
          const vrp = v[r * k + p];
          const vrq = v[r * k + q];
          v[r * k + p] = c * vrp - s * vrq;
          v[r * k + q] = s * vrp + c * vrq;
        }
      }
    }
  }
  const order = Array.from({ length: k }, (_, i) => i);
  order.sort((x, y) => a[y * k + y] - a[x * k + x] || x - y);
  const values = new Float64Array(k);
  const vectors = new Float64Array(k * k);
  order.forEach((src, dst) => {
    values[dst] = a[src * k + src];
    for (let r = 0; r < k; r++) vectors[dst * k + r] = v[r * k + src];
  });
  return { values, vectors };
}

/**
 * Solves A X = B for symmetric positive (semi-)definite A (k × k) and B (k × n) by Cholesky.
 * A ridge of 1e-12 · trace(A) / k is added when a pivot is not positive, deterministically.
 */
export function choleskySolve(aIn: Float64Array, k: number, b: Float64Array, n: number): Float64Array {
  let trace = 0;
  for (let i = 0; i < k; i++) trace += aIn[i * k + i];
  for (let attempt = 0; attempt < 8; attempt++) {
    const ridge = attempt === 0 ? 0 : (trace > 0 ? trace / k : 1) * 1e-12 * 100 ** (attempt - 1);
    const l = new Float64Array(k * k);
    let ok = true;
    for (let i = 0; i < k && ok; i++) {
      for (let j = 0; j <= i; j++) {
        let s = aIn[i * k + j] + (i === j ? ridge : 0);
        for (let p = 0; p < j; p++) s -= l[i * k + p] * l[j * k + p];
        if (i === j) {
          if (!(s > 0)) {
            ok = false;
            break;
          }
          l[i * k + i] = Math.sqrt(s);
        } else {
          l[i * k + j] = s / l[j * k + j];
        }
      }
    }
    if (!ok) continue;
    const x = b.slice();
    for (let c = 0; c < n; c++) {
      for (let i = 0; i < k; i++) {
        let s = x[i * n + c];
        for (let p = 0; p < i; p++) s -= l[i * k + p] * x[p * n + c];
        x[i * n + c] = s / l[i * k + i];
      }
      for (let i = k - 1; i >= 0; i--) {
        let s = x[i * n + c];
        for (let p = i + 1; p < k; p++) s -= l[p * k + i] * x[p * n + c];
        x[i * n + c] = s / l[i * k + i];
      }
    }
    return x;
  }
  throw new Error("choleskySolve: matrix is not positive definite even with a ridge");
}
