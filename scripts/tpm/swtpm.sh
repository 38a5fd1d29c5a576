#!/usr/bin/env bash
# A worker's simulated TPM: provisions swtpm state with an EK certificate from the test
# manufacturer CA (scripts/tpm/test-ca.sh), and starts or stops the swtpm process.
#
#   scripts/tpm/swtpm.sh provision STATE_DIR      # once per worker (about 1 s)
#   scripts/tpm/swtpm.sh start STATE_DIR PORT     # TPM on PORT, control channel on PORT+1
#   scripts/tpm/swtpm.sh stop PORT                # orderly TPM2_Shutdown, then exit
#
# The TCTI for tss-esapi and tpm2-tools is then "swtpm:host=127.0.0.1,port=PORT". On real
# hardware the same executor uses "device:/dev/tpmrm0" instead.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ca_dir=${VOUCH_TPM_CA_DIR:-"$here/../../chain-spec/test-tpm-ca"}

case "${1:-}" in
provision)
	state=${2:?state dir}
	mkdir -p "$state/tpm" "$state/ca"
	ca_dir=$(cd "$ca_dir" && pwd)
	# The CA's serial counter and configuration live with the worker: the committed CA
	# directory stays read-only.
	[[ -f "$state/ca/certserial" ]] || echo $((RANDOM * 32768 + RANDOM)) > "$state/ca/certserial"
	cat > "$state/ca/localca.conf" <<CONF
statedir = $state/ca
signingkey = $ca_dir/issuer-key.pem
issuercert = $ca_dir/issuer.pem
certserial = $state/ca/certserial
CONF
	cat > "$state/ca/localca.options" <<CONF
--platform-manufacturer Vouch
--platform-version 1.0
--platform-model vouch-test-worker
CONF
	cat > "$state/ca/swtpm_setup.conf" <<CONF
create_certs_tool = $(command -v swtpm_localca)
create_certs_tool_config = $state/ca/localca.conf
create_certs_tool_options = $state/ca/localca.options
active_pcr_banks = sha256
CONF
	swtpm_setup --tpm2 --tpmstate "$state/tpm" --config "$state/ca/swtpm_setup.conf" \
		--create-ek-cert --create-platform-cert --write-ek-cert-files "$state/ca" --overwrite >/dev/null
	;;
start)
	state=${2:?state dir}
	port=${3:?port}
	# The daemon must not keep its caller's open descriptors. libtss2's swtpm TCTI opens its
	# sockets without close-on-exec, so a TPM client that starts another swtpm would leave its
	# connection held open by that daemon after closing it; the TPM it spoke to serves one
	# connection at a time and would never accept the client's next one.
	(
		for fd in /proc/$BASHPID/fd/*; do
			fd=${fd##*/}
			if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
		done
		exec swtpm socket --tpm2 --tpmstate dir="$state/tpm" --daemon --pid file="$state/swtpm.pid" \
			--server type=tcp,port="$port",bindaddr=127.0.0.1 \
			--ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
			--flags not-need-init,startup-clear
	)
	;;
stop)
	port=${2:?port}
	# Without TPM2_Shutdown, swtpm counts the stop as a lockout failure; three and every key
	# is refused for 1000 s.
	swtpm_ioctl --tcp 127.0.0.1:$((port + 1)) -s
	;;
*)
	sed -n '2,12p' "$0" >&2
	exit 2
	;;
esac
