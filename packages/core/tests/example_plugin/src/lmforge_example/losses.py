"""An RL loss part: a factory ``Reinforce(**options)`` whose product is called per batch as
``loss(log_probs, advantages=..., old_log_probs=..., response_mask=...) -> (per_token_loss, metrics)``."""


class Reinforce:
    """REINFORCE per token, -A log pi(token), on group-normalized advantages."""

    uses_old_log_probs = False  # the loop need not compute the sampling policy's log-probs

    def __init__(self, advantage: str = "group_normalized", reduction: str = "sequence_mean") -> None:
        self.advantage = advantage  # how the align loop forms advantages from rewards
        self.reduction = reduction  # how it reduces the per-token loss

    def __call__(self, log_probs, *, advantages, old_log_probs=None, response_mask=None):
        return -advantages * log_probs, {}
