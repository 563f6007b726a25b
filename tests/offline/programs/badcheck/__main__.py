"""pulumi-offline test program: a dynamic resource whose Check fails."""

from offline_support import Recorder

Recorder("bad", label="", fail_check=True)
