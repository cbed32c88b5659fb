"""The `{{name}}` activity plugin. Build and publish: see README.md.

The `wit_world` package does not exist on disk: componentize-py generates it from `wit/` while
it builds. It runs this module once at build time and snapshots the interpreter, so import at
the top everything the activities need.
"""

from wit_world import exports
from wit_world.imports.log import Level, log


class Activities(exports.Activities):
    def hello(self, name: str) -> str:
        log(Level.INFO, f"saying hello to {name}")
        return f"Hello, {name}!"
