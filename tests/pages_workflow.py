"""Checks .github/workflows/pages.yml: valid YAML, deploys main with the official Pages actions,
and builds only with the command the README documents (scripts/build.sh with the Pages path)."""

import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github/workflows/pages.yml"


def fail(message):
    sys.exit(f"{WORKFLOW.relative_to(ROOT)}: {message}")


def main():
    try:
        flow = yaml.safe_load(WORKFLOW.read_text())
    except (OSError, yaml.YAMLError) as e:
        fail(f"not readable YAML: {e}")
    # YAML 1.1 reads the key `on` as true.
    triggers = flow.get("on", flow.get(True)) or {}
    if "main" not in triggers.get("push", {}).get("branches", []):
        fail("does not run on pushes to main")
    perms = flow.get("permissions", {})
    if perms.get("pages") != "write" or perms.get("id-token") != "write":
        fail("needs permissions pages: write and id-token: write")
    jobs = flow.get("jobs", {})
    build, deploy = jobs.get("build"), jobs.get("deploy")
    if not build or not deploy:
        fail("needs jobs build and deploy")
    uses = [s.get("uses", "") for s in build["steps"]]
    for action in ("actions/checkout@", "actions/configure-pages@", "actions/upload-pages-artifact@"):
        if not any(u.startswith(action) for u in uses):
            fail(f"the build job does not use {action}")
    upload = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    if upload.get("with", {}).get("path") != "dist":
        fail("uploads something other than dist/")
    runs = [s["run"] for s in build["steps"] if "run" in s]
    if not runs:
        fail("builds nothing")
    readme = (ROOT / "README.md").read_text()
    for run in runs:
        m = re.fullmatch(r'bash (scripts/build\.sh) "\$\{\{ steps\.pages\.outputs\.base_path \}\}/"', run.strip())
        if not m:
            fail(f"runs a command that is not the README's scripts/build.sh with the Pages path: {run!r}")
        if m.group(1) not in readme:
            fail(f"{m.group(1)} is not documented in README.md")
    if deploy.get("needs") != "build" or deploy.get("environment", {}).get("name") != "github-pages":
        fail("the deploy job must need build and use the github-pages environment")
    if not any(s.get("uses", "").startswith("actions/deploy-pages@") for s in deploy["steps"]):
        fail("the deploy job does not use actions/deploy-pages")
    print(f"{WORKFLOW.relative_to(ROOT)}: valid; builds with scripts/build.sh and deploys with the Pages actions")


if __name__ == "__main__":
    main()
