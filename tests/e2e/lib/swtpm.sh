# swtpm for the TPM suites (tpm_keys.sh, tpm_tls.sh): a TPM 2.0 simulator on
# loopback, command port PORT and control port PORT+1, state in DIR. Sourced;
# expects $d (the suite's work dir: swtpm.log goes there).

# tpm_start DIR PORT: started and accepting connections, or status 1
tpm_start() {
	mkdir -p "$1"
	swtpm socket --tpm2 --tpmstate dir="$1" --server type=tcp,port="$2",bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$(($2 + 1)),bindaddr=127.0.0.1 --flags startup-clear,not-need-init \
		--pid file="$1/pid" --daemon 2>>"$d/swtpm.log"
	for _ in $(seq 1 50); do
		[ -s "$1/pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# tpm_stop DIR: the swtpm of DIR ended (by its pid file)
tpm_stop() {
	local p
	p=$(cat "$1/pid" 2>/dev/null) || return 0
	kill "$p" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	rm -f "$1/pid"
}
