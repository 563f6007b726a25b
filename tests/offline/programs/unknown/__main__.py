"""pulumi-offline test program: a pulumi-gcp type the offline engine does not implement."""

import pulumi_gcp as gcp

gcp.pubsub.Topic("topic", name="not-modelled")
