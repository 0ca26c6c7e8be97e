"""Who may look up: the policy, the member directory and its cache, the rate limit, the gate."""
