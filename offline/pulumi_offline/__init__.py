"""An offline stand-in for the Pulumi engine: runs whole programs on the local stack."""
