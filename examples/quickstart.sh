#!/usr/bin/env bash
# Places the three example orders of CertCentral's ds_org reference page
# against a running docsign-ca, approves them, and downloads and verifies the
# certificate of the email order. Needs curl and openssl.
#
# Environment:
#   DOCSIGN_URL       server base URL (default http://127.0.0.1:8080)
#   DOCSIGN_DATA_DIR  the server's data directory (default ./docsign-data);
#                     the API key is read from its bootstrap-api-key file
#   DOCSIGN_API_KEY   API key to use instead of that file
#   DOCSIGN_CA        command that runs docsign-ca (default: go run ./cmd/docsign-ca),
#                     used for the operator's validation approval
#   OUT               directory for the key, CSR and certificates (default ./examples/out)
#
# Changes made to the reference page's examples: trailing commas and the
# unquoted "rsa" fixed so that the bodies are valid JSON; organization.id
# points at an organization this script creates; the contacts are sent as new
# contacts (their ids and user ids name users of DigiCert's account) with
# example.com addresses; the email order carries a CSR made here.
set -euo pipefail

url=${DOCSIGN_URL:-http://127.0.0.1:8080}
data_dir=${DOCSIGN_DATA_DIR:-./docsign-data}
# The server comes first: its first start writes the key file.
if ! curl -sf -o /dev/null "$url/healthz"; then
    echo "quickstart.sh: no docsign-ca server at $url; start one or set DOCSIGN_URL" >&2
    exit 1
fi
if [[ -z ${DOCSIGN_API_KEY:-} && ! -r $data_dir/bootstrap-api-key ]]; then
    echo "quickstart.sh: no API key at $data_dir/bootstrap-api-key; set DOCSIGN_DATA_DIR to the server's --data-dir" >&2
    exit 1
fi
key=${DOCSIGN_API_KEY:-$(cat "$data_dir/bootstrap-api-key")}
ca_cmd=${DOCSIGN_CA:-go run ./cmd/docsign-ca}
out=${OUT:-./examples/out}
mkdir -p "$out"

# api METHOD PATH [BODY]: prints the response body; fails on HTTP >= 400.
api() {
    local method=$1 path=$2 body=${3:-}
    local args=(-sS -X "$method" -H "X-DC-DEVKEY: $key" -H "Content-Type: application/json" -w '\n%{http_code}')
    [[ -n $body ]] && args+=(--data-binary "$body")
    local response status
    response=$(curl "${args[@]}" "$url/services/v2/$path")
    status=${response##*$'\n'}
    response=${response%$'\n'*}
    if ((status >= 400)); then
        echo "$method $path failed with HTTP $status: $response" >&2
        return 1
    fi
    printf '%s' "$response"
}

# first_number FIELD JSON: the first numeric value of "FIELD" in JSON.
first_number() {
    grep -o "\"$1\":[0-9]*" <<<"$2" | head -n 1 | cut -d: -f2
}

echo "== create the organization and submit its document signing validation"
org=$(api POST organization '{
  "name": "Example Legal Department Inc",
  "address": "360 Taylor Street", "address2": "Floor 74",
  "city": "Richmond", "state": "Virginia", "zip": "23219", "country": "us",
  "telephone": "+1 804 555 0100",
  "skip_duplicate_org_check": true
}')
org_id=$(first_number id "$org")
api POST "organization/$org_id/validation" '{"validations":[{"type":"ds"}]}' >/dev/null
echo "organization $org_id"

echo "== the CA operator completes the validation"
$ca_cmd validation approve --data-dir "$data_dir" --organization "$org_id" --type ds

echo "== make a key and a CSR for the email order"
openssl req -new -newkey rsa:2048 -nodes -keyout "$out/email-order.key" \
    -subj "/CN=ignored by the CA/O=ignored" -out "$out/email-order.csr" 2>/dev/null
chmod 600 "$out/email-order.key"
csr=$(awk 'BEGIN{ORS="\\n"} {print}' "$out/email-order.csr")

contacts='[
  {"first_name": "John", "last_name": "Doe", "email": "john.doe@example.com", "job_title": "Analyst",
   "telephone": "+1 1234567890", "contact_type": "organization_contact"},
  {"first_name": "Doe", "last_name": "John", "email": "doe.john@example.com", "job_title": "Analyst",
   "telephone": "+1 1234547860", "contact_type": "technical_contact"}
]'
usage='"usage_designation": {"primary_usage": "signing",
  "additional_usages": ["adobe_authentic_documents_trust", "ms_document_signing", "document_signing"]}'
common='"organization": {"id": "'"$org_id"'", "contacts": '"$contacts"'},
  "custom_renewal_message": "Renew me",
  "additional_emails": ["jill.valentine@example.com", "leon.kennedy@example.com"],
  "order_validity": {"years": 1},
  "payment_method": "balance"'

echo "== place the ship_token order"
ship=$(api POST order/certificate/ds_org '{
  "certificate": {"signature_hash": "sha256", '"$usage"'},
  "cs_provisioning_method": "ship_token",
  "ship_info": {"name": "John Doe", "addr1": "360 Taylor Street", "addr2": "Floor 74", "city": "Richmond",
                "state": "va", "zip": "69662", "country": "us", "method": "EXPEDITED"},
  '"$common"'
}')
echo "$ship"

echo "== place the client_app order"
client=$(api POST order/certificate/ds_org '{
  "certificate": {"signature_hash": "sha256", '"$usage"'},
  "cs_provisioning_method": "client_app",
  '"$common"'
}')
echo "$client"

echo "== place the email order"
email=$(api POST order/certificate/ds_org '{
  "certificate": {"csr": "'"$csr"'", "key_size": 2048, "csr_key_type": "rsa", "signature_hash": "sha256", '"$usage"'},
  "cs_provisioning_method": "email",
  '"$common"'
}')
echo "$email"

echo "== approve the three requests"
for placed in "$ship" "$client" "$email"; do
    # The request id follows "requests":[{"id":
    request_id=$(grep -o '"requests":\[{"id":[0-9]*' <<<"$placed" | grep -o '[0-9]*$')
    api PUT "request/$request_id/status" '{"status": "approved", "processor_comment": "quickstart"}' >/dev/null
    echo "approved request $request_id"
done

email_order=$(first_number id "$email")
echo "== wait for the email order $email_order to be issued"
for _ in $(seq 1 100); do
    info=$(api GET "order/certificate/$email_order")
    grep -q '"status":"issued"' <<<"$info" && break
    sleep 0.2
done
grep -q '"status":"issued"' <<<"$info" || { echo "order $email_order was not issued: $info" >&2; exit 1; }
cert_id=$(grep -o '"certificate":{"id":[0-9]*' <<<"$info" | grep -o '[0-9]*$')

echo "== download certificate $cert_id (pem_all: leaf, intermediate, root) and verify it"
api GET "certificate/$cert_id/download/format/pem_all" >"$out/email-order-pem_all.pem"
awk -v dir="$out" '/-----BEGIN CERTIFICATE-----/{n++} {print > (dir "/cert-" n ".pem")}' "$out/email-order-pem_all.pem"
openssl verify -purpose any -CAfile "$out/cert-3.pem" -untrusted "$out/cert-2.pem" "$out/cert-1.pem"
openssl x509 -in "$out/cert-1.pem" -noout -subject -ext keyUsage,extendedKeyUsage

for placed in "$ship" "$client"; do
    id=$(first_number id "$placed")
    status=$(grep -o '"status":"[a-z_]*"' <<<"$(api GET "order/certificate/$id")" | head -n 1)
    echo "order $id waits for its key material: $status"
done
