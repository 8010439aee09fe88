/**
 * A worker's job filter by trainer: determinism class and memory, and the capabilities it registers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { capabilitiesMetadata, declineReason, trainingBytes, type Capabilities } from "../../worker/node/trainer-backend.ts";
import { makeSpec } from "../../worker/spec/presets.ts";
import { modelPreset } from "../../worker/diloco/model/presets.ts";

const torchCaps: Capabilities = { backend: "pytorch", determinismClass: "pytorch-1.13.1/cuda-11.8/NVIDIA_A10G/cudnn-8600/deterministic", device: "cuda", deviceName: "NVIDIA A10G", memoryBytes: 24 * 2 ** 30 };
const jaxCaps: Capabilities = { backend: "jax-js", determinismClass: "strict", device: "cpu", deviceName: "wasm", memoryBytes: 16 * 2 ** 30 };

test("declines jobs of another determinism class and says which", () => {
  const jaxJob = makeSpec({ model: "tiny" });
  assert.equal(declineReason(jaxJob, jaxCaps), undefined);
  assert.match(declineReason(jaxJob, torchCaps)!, /determinism class mismatch: the job pins jax-js "strict", this worker runs pytorch/);
  const torchJob = makeSpec({ model: "tiny", trainer: { backend: "pytorch", determinism: torchCaps.determinismClass } });
  assert.equal(declineReason(torchJob, torchCaps), undefined);
  assert.match(declineReason(torchJob, { ...torchCaps, determinismClass: torchCaps.determinismClass.replace("A10G", "L4") })!, /class mismatch/);
  assert.match(declineReason(torchJob, jaxCaps)!, /class mismatch/);
});

test("declines models it cannot hold, from an estimate of training memory", () => {
  const big = makeSpec({ modelConfig: modelPreset("llama-125m"), batchSize: 2, trainer: { backend: "pytorch", determinism: torchCaps.determinismClass } });
  const need = trainingBytes(big);
  assert.ok(need > 16 * 123e6, "at least params, grads and two moments");
  assert.equal(declineReason(big, torchCaps), undefined);
  assert.match(declineReason(big, { ...torchCaps, memoryBytes: 2 * 2 ** 30 })!, /needs about [0-9.]+ GiB to train, this worker's cuda has 2.0 GiB/);
});

test("registration metadata carries backend, class, device and memory", () => {
  const uri = capabilitiesMetadata(torchCaps, 200_000_000, "rack 3");
  const body = JSON.parse(decodeURIComponent(uri.replace(/^data:application\/json,/, "")));
  assert.deepEqual({ ...body }, { kind: "diloco-market/provider", version: 1, label: "rack 3", backend: "pytorch", determinismClass: torchCaps.determinismClass, device: "cuda", deviceName: "NVIDIA A10G", memoryBytes: 24 * 2 ** 30, maxParams: 200_000_000 });
});
