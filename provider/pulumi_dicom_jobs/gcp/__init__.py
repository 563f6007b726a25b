"""The pulumi-gcp face: the Healthcare service agent's grants and ready-made components."""
