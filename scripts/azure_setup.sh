#!/usr/bin/env bash
# Create the Azure accounts for the notebooks: a resource group (tagged as the kit's, so that
# azure_teardown.sh may delete it), a storage account, a Batch account linked to it, and the
# Microsoft Entra ID roles each learner needs. Safe to run again: what exists is reused.
#
# Keys are never printed: a terminal in a class is projected, shared and scrolled back. The
# script prints the commands that fetch them, or, with --env-file, writes them to a new file
# that only its owner can read (the .env that notebook 01 reads).
set -euo pipefail

TAG_KEY="created-by"
TAG_VALUE="batch-notebooks"
BATCH_ROLE="Azure Batch Data Contributor"
STORAGE_ROLE="Storage Blob Data Contributor"

usage() {
    cat <<'EOF'
Usage: scripts/azure_setup.sh --location REGION --batch-account NAME --storage-account NAME
                              [--resource-group GROUP] [--assignee USER]... [--no-roles]
                              [--env-file PATH] [--budget AMOUNT --budget-email ADDRESS]

  --location         Azure region, e.g. westeurope
  --batch-account    Batch account name: 3-24 lowercase letters and digits
  --storage-account  storage account name: 3-24 lowercase letters and digits, unique in Azure
  --resource-group   default: batch-notebooks
  --assignee         who gets the two data roles (repeat for each learner); default: you
  --no-roles         skip the role assignments (Shared Key only)
  --env-file PATH    write the settings for notebook 01, keys included, to PATH (a new file,
                     mode 600); without it, the keys are not fetched at all
  --budget AMOUNT    a monthly cost budget on the resource group, in your billing currency,
                     with e-mail alerts at 80% and 100% of it and when the forecast passes 100%
  --budget-email     who gets the budget's alerts (needed with --budget)
EOF
}

die() { echo "azure_setup: $*" >&2; exit 2; }

show() {  # show batch|storage NAME FIELD: one field of an account in the group, as text
    az "$1" account show --name "$2" --resource-group "$group" --query "$3" --output tsv
}

run() {  # show each command that changes something, then run it
    echo "+ az $*"
    az "$@"
}

group="batch-notebooks" location="" batch="" storage="" env_file="" roles=1 budget="" email=""
assignees=()
while [ $# -gt 0 ]; do
    case "$1" in
        --location|--batch-account|--storage-account|--resource-group|--assignee|--env-file|\
        --budget|--budget-email)
            [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"
            case "$1" in
                --location) location="$2" ;;
                --batch-account) batch="$2" ;;
                --storage-account) storage="$2" ;;
                --resource-group) group="$2" ;;
                --assignee) assignees+=("$2") ;;
                --env-file) env_file="$2" ;;
                --budget) budget="$2" ;;
                --budget-email) email="$2" ;;
            esac
            shift 2 ;;
        --no-roles) roles=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done

[ -n "$location" ] || die "--location is missing (an Azure region such as westeurope)"
for pair in "batch-account:$batch" "storage-account:$storage"; do
    name="${pair#*:}"
    [ -n "$name" ] || die "--${pair%%:*} is missing"
    [[ "$name" =~ ^[a-z0-9]{3,24}$ ]] \
        || die "--${pair%%:*} '$name': use 3-24 lowercase letters and digits"
done
[[ "$group" =~ ^[-A-Za-z0-9._()]{1,90}$ ]] \
    || die "--resource-group '$group': use up to 90 letters, digits and -._()"
if [ -n "$budget" ]; then
    [[ "$budget" =~ ^[0-9]+(\.[0-9]{1,2})?$ ]] && [[ ! "$budget" =~ ^0+(\.0+)?$ ]] \
        || die "--budget '$budget': give a positive amount in your billing currency, e.g. 50"
    [ -n "$email" ] || die "--budget needs --budget-email ADDRESS: who gets the alerts"
fi
if [ -n "$email" ]; then
    [ -n "$budget" ] || die "--budget-email needs --budget AMOUNT"
    [[ "$email" =~ ^[^@[:space:]\"\\]+@[^@[:space:]\"\\]+\.[^@[:space:]\"\\]+$ ]] \
        || die "--budget-email '$email': give one e-mail address, e.g. teacher@example.com"
fi
if [ -n "$env_file" ] && [ -e "$env_file" ]; then
    die "$env_file exists: remove it or choose another --env-file (it is never overwritten)"
fi
command -v az >/dev/null \
    || die "the Azure CLI (az) is not installed: https://aka.ms/installazurecli"
az account show --output none 2>/dev/null || die "not signed in to Azure: run az login first"

# 1. The resource group, tagged as the kit's.
if tag=$(az group show --name "$group" --query "tags.\"$TAG_KEY\"" --output tsv 2>/dev/null); then
    echo "Resource group $group exists: reusing it"
    [ "$tag" = "$TAG_VALUE" ] \
        || echo "  note: it has no $TAG_KEY=$TAG_VALUE tag, so azure_teardown.sh will not delete it"
else
    run group create --name "$group" --location "$location" --tags "$TAG_KEY=$TAG_VALUE" \
        --output none
fi

# 2. The storage account.
if show storage "$storage" id >/dev/null 2>&1; then
    echo "Storage account $storage exists: reusing it"
else
    run storage account create --name "$storage" --resource-group "$group" --location "$location" \
        --sku Standard_LRS --kind StorageV2 --min-tls-version TLS1_2 \
        --allow-blob-public-access false --output none
fi

# 3. The Batch account, linked to the storage account.
if show batch "$batch" id >/dev/null 2>&1; then
    echo "Batch account $batch exists: reusing it"
else
    run batch account create --name "$batch" --resource-group "$group" --location "$location" \
        --storage-account "$storage" --output none
fi
batch_id=$(show batch "$batch" id)
storage_id=$(show storage "$storage" id)
endpoint=$(show batch "$batch" accountEndpoint)

# 4. The data roles, for Microsoft Entra ID sign-in.
if [ "$roles" = 1 ]; then
    if [ ${#assignees[@]} -eq 0 ]; then
        assignees=("$(az ad signed-in-user show --query id --output tsv)")
    fi
    for who in "${assignees[@]}"; do
        for pair in "$BATCH_ROLE|$batch_id" "$STORAGE_ROLE|$storage_id"; do
            role="${pair%%|*}" scope="${pair#*|}"
            found=$(az role assignment list --assignee "$who" --role "$role" --scope "$scope" \
                --query "[].id" --output tsv)
            if [ -n "$found" ]; then
                echo "$who has $role on ${scope##*/} already"
            else
                run role assignment create --assignee "$who" --role "$role" --scope "$scope" \
                    --output none
            fi
        done
    done
    echo "Role assignments can take a few minutes to apply."
fi

# 5. The quotas: notebook 03 asks for Spot nodes, and new accounts may have none.
spot=$(show batch "$batch" lowPriorityCoreQuota)
dedicated=$(show batch "$batch" dedicatedCoreQuota)
echo "Core quotas of $batch: Spot $spot, dedicated $dedicated"
if [ "$spot" = 0 ]; then
    echo "  Spot quota is 0: notebook 03's pool will get no nodes. Ask for an increase in the"
    echo "  portal (Batch account > Quotas), or use dedicated nodes."
fi

# 6. A budget with e-mail alerts. Through the REST API (Microsoft.Consumption/budgets,
# api-version 2024-08-01), as Learn's budget tutorial recommends over the CLI's preview command
# group: `az consumption budget create` cannot attach alerts. PUT creates or updates it.
if [ -n "$budget" ]; then
    subscription=$(az account show --query id --output tsv)
    year=$(date -u +%Y) month=$(date -u +%m)
    name="batch-notebooks-budget"
    alert() {  # alert TYPE THRESHOLD: one notification
        printf '"%s_GreaterThan_%s_Percent":{"enabled":true,"operator":"GreaterThan",' "$1" "$2"
        printf '"threshold":%s,"thresholdType":"%s","contactEmails":["%s"]}' "$2" "$1" "$email"
    }
    body=$(printf '{"properties":{"category":"Cost","amount":%s,"timeGrain":"Monthly",' "$budget"
           printf '"timePeriod":{"startDate":"%s-%s-01T00:00:00Z","endDate":"%s-%s-01T00:00:00Z"},' \
               "$year" "$month" "$((year + 1))" "$month"
           printf '"notifications":{%s,%s,%s}}}' "$(alert Actual 80)" "$(alert Actual 100)" \
               "$(alert Forecasted 100)")
    run rest --method put --output none --body "$body" --url \
        "https://management.azure.com/subscriptions/$subscription/resourceGroups/$group/providers/Microsoft.Consumption/budgets/$name?api-version=2024-08-01"
    echo "Budget $name on $group: $budget a month (your billing currency), for a year; e-mail to"
    echo "  $email at 80% and 100% of it, and when the forecast passes 100%. A budget only alerts:"
    echo "  it stops nothing. Cost data comes 8-24 hours late and budgets are checked once a day,"
    echo "  so delete the pools (notebook 08) yourself. Some offers (Azure for Students,"
    echo "  Sponsorship) have no budgets."
fi

# 7. The settings for notebook 01.
cat <<EOF

Settings for notebook 01 (target Azure):
  Batch account name:   $batch
  Batch account URL:    https://$endpoint
  Storage account name: $storage
Sign in with Microsoft Entra ID (az login), or with Shared key; the keys:
  az batch account keys list --name $batch --resource-group $group --query primary --output tsv
  az storage account keys list --account-name $storage --resource-group $group \
      --query "[0].value" --output tsv
EOF
if [ -n "$env_file" ]; then
    batch_key=$(az batch account keys list --name "$batch" --resource-group "$group" \
        --query primary --output tsv)
    storage_key=$(az storage account keys list --account-name "$storage" --resource-group "$group" \
        --query "[0].value" --output tsv)
    (
        umask 077
        set -o noclobber  # never overwrite: a file made since the check above stays
        printf '%s\n' "# Written by scripts/azure_setup.sh. Keep it private." \
            "BATCH_TARGET=azure" "BATCH_AUTH=key" "BATCH_ACCOUNT_NAME=$batch" \
            "BATCH_ACCOUNT_URL=https://$endpoint" "BATCH_ACCOUNT_KEY='$batch_key'" \
            "STORAGE_ACCOUNT_NAME=$storage" "STORAGE_ACCOUNT_KEY='$storage_key'" > "$env_file"
    )
    echo "Wrote the settings, keys included, to $env_file (readable by you only)."
fi
