//! py-substrate-interface, the Python client people already use, drives the dev chain with
//! the one type-registry entry and the `state_call` that docs/clients.md shows. Needs the venv
//! of `tests/py-substrate/requirements.txt` (`scripts/test.sh` makes it;
//! `VOUCH_PY_SUBSTRATE_PYTHON` names its python).

use std::{path::PathBuf, time::Duration};

use anyhow::{ensure, Result};
use vouch_tests::{client_script, Node};

#[tokio::test]
async fn py_substrate_interface_publishes_posts_and_reads_the_sortition_api() -> Result<()> {
	let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("py-substrate");
	let python = std::env::var_os("VOUCH_PY_SUBSTRATE_PYTHON")
		.map(PathBuf::from)
		.unwrap_or_else(|| dir.join(".venv/bin/python"));
	ensure!(
		python.is_file(),
		"{} is missing: make the venv (`python3 -m venv {0}/.venv && {0}/.venv/bin/pip install -r {0}/requirements.txt`; scripts/test.sh does)",
		dir.display()
	);
	let tmp = tempfile::tempdir()?;
	let node = Node::start("dev", tmp.path(), &["--dev", "--tmp"])?;
	node.client(Duration::from_secs(120)).await?;
	let read = client_script::run(&python, "post_task.py", &dir, &node).await?;

	assert_eq!(read["published"], true, "{read}");
	assert_eq!(read["refused"]["ok"], false);
	assert_eq!(read["refused"]["error"]["name"], "PaymentBelowPriceAndBurn");
	assert_eq!(read["posted"], true);
	let posted = &read["task_posted"];
	assert_eq!(posted["task"], 0, "the refused post took no id");
	assert_eq!(posted["requester"], read["alice"]);
	assert_eq!(posted["lambda"], read["lambda"]);
	assert_eq!(posted["payment"], 10_000_000_000_000u64);
	// The runtime API through state_call: the task's record, its target the committee size.
	assert_eq!(read["sortition"]["task"], 0);
	assert_eq!(read["sortition"]["target"], 3);
	node.check_alive()
}
