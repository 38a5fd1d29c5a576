#!/usr/bin/env bash
# Makes the TPM fixtures that the verifier's tests check (pallets/primitives/fixtures/tpm/):
# a fresh swtpm worker provisioned by the test manufacturer CA, its evidence made by the
# executor's TPM service (`vouch-executor tpm fixtures`), and the same EK certified again by an
# RSA-2048 and a P-384 root (what real manufacturers use) with openssl.
#
#   scripts/tpm/make-fixtures.sh        # then commit pallets/primitives/fixtures/tpm
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
out="$ROOT/pallets/primitives/fixtures/tpm"
ca="$ROOT/chain-spec/test-tpm-ca"
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
cleanup() {
	"$ROOT/scripts/tpm/swtpm.sh" stop "$port" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

step "building vouch-executor"
(cd "$ROOT" && cargo build --locked -p vouch-executor)
step "provisioning a swtpm worker with the test manufacturer CA"
"$ROOT/scripts/tpm/test-ca.sh" "$ca" >/dev/null
"$ROOT/scripts/tpm/swtpm.sh" provision "$work/worker"
"$ROOT/scripts/tpm/swtpm.sh" start "$work/worker" "$port"

step "making evidence with the executor's TPM service"
rm -rf "$out"
mkdir -p "$out"
"$CARGO_TARGET_DIR/debug/vouch-executor" tpm --tcti "swtpm:host=127.0.0.1,port=$port" \
	--key-file "$work/worker/keys" fixtures --out "$out"
openssl x509 -in "$ca/root.pem" -outform der -out "$out/root.der"
openssl x509 -in "$ca/issuer.pem" -outform der -out "$out/issuer.der"

step "certifying the same EK under an RSA-2048 and a P-384 root"
openssl x509 -inform der -in "$out/ek-cert.der" -pubkey -noout > "$work/ek.pem"
openssl ecparam -name prime256v1 -genkey -noout -out "$work/csr-key.pem"
openssl req -new -key "$work/csr-key.pem" -subj "/CN=Vouch test EK" -out "$work/ek.csr"
for root in rsa p384; do
	case $root in
	rsa) openssl genrsa -out "$work/$root-key.pem" 2048 2>/dev/null; digest=-sha256 ;;
	p384) openssl ecparam -name secp384r1 -genkey -noout -out "$work/$root-key.pem"; digest=-sha384 ;;
	esac
	openssl req -x509 -new -key "$work/$root-key.pem" $digest -days 7300 \
		-subj "/O=Vouch test TPM manufacturer/CN=Vouch test $root root CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
		-outform der -out "$out/$root-root.der"
	openssl x509 -req -in "$work/ek.csr" -force_pubkey "$work/ek.pem" \
		-CA "$out/$root-root.der" -CAform DER -CAkey "$work/$root-key.pem" -CAcreateserial \
		$digest -days 7300 -outform der -out "$out/ek-cert-by-$root-root.der" 2>/dev/null
done
rm -f "$out"/*.srl
ls -l "$out"
