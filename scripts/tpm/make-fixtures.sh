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
# What a TPM's EK certificate carries (TCG EK Credential Profile): an end entity, for the EK
# purpose, whose (RSA) key encrypts.
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyEncipherment\nextendedKeyUsage=2.23.133.8.1\n' \
	> "$work/ek.ext"
# root NAME KIND [SUBJECT [KEY USAGE]]: a self-signed root of kind rsa, rsa4096, p384 or p256.
root() {
	local name=$1 kind=$2 subject=${3:-"/O=Vouch test TPM manufacturer/CN=Vouch test $1 root CA"}
	local usage=${4:-keyCertSign}
	case $kind in
	rsa) openssl genrsa -out "$work/$name-key.pem" 2048 2>/dev/null ;;
	rsa4096) openssl genrsa -out "$work/$name-key.pem" 4096 2>/dev/null ;;
	p384) openssl ecparam -name secp384r1 -genkey -noout -out "$work/$name-key.pem" ;;
	p256) openssl ecparam -name prime256v1 -genkey -noout -out "$work/$name-key.pem" ;;
	esac
	openssl req -x509 -new -key "$work/$name-key.pem" "$(digest "$kind")" -days 7300 -subj "$subject" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,$usage" \
		-outform der -out "$out/$name-root.der"
}
digest() { if [[ $1 == p384 ]]; then echo -sha384; else echo -sha256; fi; }
# ek_cert OUT CA_CERT CA_KEY KIND [EXTFILE]: the same EK certified by that CA.
ek_cert() {
	openssl x509 -req -in "$work/ek.csr" -force_pubkey "$work/ek.pem" -CA "$2" -CAform DER \
		-CAkey "$3" -CAcreateserial "$(digest "$4")" -days 7300 -extfile "${5:-$work/ek.ext}" \
		-outform der -out "$out/$1" 2>/dev/null
}
for kind in rsa p384; do
	root "$kind" "$kind"
	ek_cert "ek-cert-by-$kind-root.der" "$out/$kind-root.der" "$work/$kind-key.pem" "$kind"
done

step "making hostile chains: each must be refused for its own reason"
# A root of the test root's very name but another key (a manufacturer's root rollover).
root rollover p256 "/O=Vouch test TPM manufacturer/CN=Vouch test TPM root CA"
# An RSA-4096 root: more costly to verify than `register` is weighed for.
root rsa4096 rsa4096
ek_cert ek-cert-by-rsa4096-root.der "$out/rsa4096-root.der" "$work/rsa4096-key.pem" rsa
# A CA that may not sign certificates (CRL signing only), yet signed an EK certificate.
root nosign p256 "" cRLSign
ek_cert ek-cert-by-nosign-root.der "$out/nosign-root.der" "$work/nosign-key.pem" p256
# An EK certificate with a critical extension no verifier of ours knows.
cp "$work/ek.ext" "$work/critical.ext"
echo "1.3.6.1.4.1.55555.1=critical,ASN1:NULL" >> "$work/critical.ext"
ek_cert ek-cert-critical-ext.der "$out/rsa-root.der" "$work/rsa-key.pem" rsa "$work/critical.ext"
# A CA under the test issuer, whose path length (0) allows none.
openssl ecparam -name prime256v1 -genkey -noout -out "$work/subca-key.pem"
openssl req -new -key "$work/subca-key.pem" -subj "/O=Vouch test TPM manufacturer/CN=Vouch test sub-CA" \
	-out "$work/subca.csr"
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n' > "$work/subca.ext"
openssl x509 -req -in "$work/subca.csr" -CA "$ca/issuer.pem" -CAkey "$ca/issuer-key.pem" \
	-CAcreateserial -sha256 -days 7300 -extfile "$work/subca.ext" -outform der \
	-out "$out/subca.der" 2>/dev/null
ek_cert ek-cert-by-subca.der "$out/subca.der" "$work/subca-key.pem" p256
rm -f "$ca"/*.srl
rm -f "$out"/*.srl
ls -l "$out"
