"""What `local up` and `local build` say of the builds."""

from local.build.dependencies import Built
from local.build.pip_target import BuildFailed


def say_builds(results: list, say) -> str:
    """One line per failed build (the functions that need it answer Local.BuildFailed until
    its requirements.txt is fixed); the step's summary line."""
    failed = [result for result in results if isinstance(result, BuildFailed)]
    for failure in failed:
        say(f"  !!  {failure}; its functions answer errors until it builds")
    built = [result for result in results if isinstance(result, Built) and result.folder]
    fresh = [result.unit.name for result in built if not result.cached]
    if not built and not failed:
        return "dependencies (nothing to build)"
    parts = [f"{len(built) - len(fresh)} cached", *([f"built {', '.join(fresh)}"] if fresh else []),
             *([f"{len(failed)} failed"] if failed else [])]
    return f"dependencies ({'; '.join(parts)})"
