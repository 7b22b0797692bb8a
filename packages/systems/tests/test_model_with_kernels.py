"""The kernels as config-selected parts inside the model package's TransformerLM: same logits and
gradients as the reference parts (Triton under the CPU interpreter when there is no GPU)."""

import pytest
import torch

from lmforge.model import TransformerLM


def build(attention, norm):
    torch.manual_seed(0)
    return TransformerLM(50, 32, 32, 2, num_heads=2, d_ff=64, attention=attention, norm=norm)


@pytest.mark.parametrize("attention,norm", [("flash2_torch", "rmsnorm_torch"),
                                            ("flash2_triton", "rmsnorm_triton")])
def test_model_matches_reference_parts(attention, norm):
    if "triton" in attention:
        pytest.importorskip("triton")
    ref, ours = build("reference", "rmsnorm"), build(attention, norm)
    ours.load_state_dict(ref.state_dict())
    x = torch.randint(0, 50, (2, 24))
    out_ref, out = ref(x), ours(x)
    torch.testing.assert_close(out, out_ref, rtol=1e-4, atol=1e-5)
    out_ref.square().mean().backward()
    out.square().mean().backward()
    for (name, p), q in zip(ref.named_parameters(), ours.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-5, msg=name)
