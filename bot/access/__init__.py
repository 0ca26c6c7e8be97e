"""Who may look up: the policy, the member directory, the rate limit and the gate."""
