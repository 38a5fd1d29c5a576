#!/usr/bin/env bash
# Makes a test TPM manufacturer CA in DIR (default: chain-spec/test-tpm-ca), unless it exists:
# a P-256 root and a P-256 issuing CA that signs EK certificates (scripts/tpm/swtpm.sh
# provision). Isolated from the machine's shared swtpm CA (/var/lib/swtpm-localca): only
# workers provisioned with this CA chain up to the root that Vouch's chain specs trust.
#
# The root is committed (chain-spec/test-tpm-ca/root.pem and .der); its key too, because this is a
# test CA and a fresh clone must be able to provision workers that the committed specs trust.
set -euo pipefail
dir=${1:-"$(cd "$(dirname "$0")/../.." && pwd)/chain-spec/test-tpm-ca"}
mkdir -p "$dir"
cd "$dir"
if [[ ! -f root.pem ]]; then
	openssl ecparam -name prime256v1 -genkey -noout -out root-key.pem
	openssl req -x509 -new -key root-key.pem -sha256 -days 7300 -subj "/O=Vouch test TPM manufacturer/CN=Vouch test TPM root CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out root.pem
fi
if [[ ! -f issuer.pem ]]; then
	openssl ecparam -name prime256v1 -genkey -noout -out issuer-key.pem
	openssl req -new -key issuer-key.pem -subj "/O=Vouch test TPM manufacturer/CN=Vouch test TPM EK issuing CA" -out issuer.csr
	printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' > issuer.ext
	openssl x509 -req -in issuer.csr -CA root.pem -CAkey root-key.pem -CAcreateserial -sha256 -days 7300 \
		-extfile issuer.ext -out issuer.pem
	rm -f issuer.csr issuer.ext root.srl
fi
# DER copies: the root is what the dev and local chain specs trust (runtime/src/genesis.rs),
# the issuer what a worker submits as its EK chain's intermediate.
[[ -f root.der ]] || openssl x509 -in root.pem -outform der -out root.der
[[ -f issuer.der ]] || openssl x509 -in issuer.pem -outform der -out issuer.der
echo "$dir"
