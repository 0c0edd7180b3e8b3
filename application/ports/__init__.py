"""The ports the use cases drive, one concept per module, each a typing.Protocol."""
