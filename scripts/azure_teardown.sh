#!/usr/bin/env bash
# Delete what scripts/azure_setup.sh created: the resource group and everything in it (pools,
# Batch account, storage account and its blobs), after removing the role assignments made on
# its resources. It refuses a group without the setup's tag, and asks first unless --yes.
set -euo pipefail

TAG_KEY="created-by"
TAG_VALUE="batch-notebooks"

usage() {
    cat <<'EOF'
Usage: scripts/azure_teardown.sh [--resource-group GROUP] [--yes]

  --resource-group  default: batch-notebooks
  --yes             do not ask before deleting
EOF
}

die() { echo "azure_teardown: $*" >&2; exit 2; }

run() {  # show each command that changes something, then run it
    echo "+ az $*"
    az "$@"
}

group="batch-notebooks" yes=0
while [ $# -gt 0 ]; do
    case "$1" in
        --resource-group)
            [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"
            group="$2"; shift 2 ;;
        --yes) yes=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done

command -v az >/dev/null \
    || die "the Azure CLI (az) is not installed: https://aka.ms/installazurecli"
az account show --output none 2>/dev/null || die "not signed in to Azure: run az login first"

errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
if ! tag=$(az group show --name "$group" --query "tags.\"$TAG_KEY\"" --output tsv 2>"$errors"); then
    grep -q ResourceGroupNotFound "$errors" \
        || die "could not look up resource group $group: $(cat "$errors")"
    echo "There is no resource group $group (in this subscription): nothing to delete."
    exit 0
fi
if [ "$tag" != "$TAG_VALUE" ]; then
    die "resource group $group has no $TAG_KEY=$TAG_VALUE tag: scripts/azure_setup.sh did not" \
        "create it, so this script will not delete it. Delete it yourself in the portal if you" \
        "mean to."
fi

resources=$(az resource list --resource-group "$group" --query "[].id" --output tsv)
echo "Resource group $group holds:"
for resource in $resources; do
    echo "  ${resource##*/providers/}"
done
[ -n "$resources" ] || echo "  (nothing)"
if [ "$yes" != 1 ]; then
    read -r -p "Delete resource group $group and everything in it? Type its name to confirm: " \
        answer || answer=""
    [ "$answer" = "$group" ] || die "not deleting: you typed '$answer', not '$group'"
fi

for resource in $resources; do
    assignments=$(az role assignment list --scope "$resource" --query "[].id" --output tsv)
    for assignment in $assignments; do
        run role assignment delete --ids "$assignment"
    done
done
run group delete --name "$group" --yes
echo "Deleted resource group $group."
