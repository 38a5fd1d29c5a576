//! Prometheus metrics (`GET /metrics` in the text exposition format, prometheus-client): the
//! chain the worker follows, its tasks and transactions, its jobs and its TPM.

use std::{net::SocketAddr, sync::Arc};

use anyhow::{Context as _, Result};
use prometheus_client::{
	encoding::{text::encode, EncodeLabelSet},
	metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
	registry::Registry,
};

/// A transaction's outcome, as a label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TxLabels {
	/// `Pallet.call`.
	pub call: String,
	/// `ok`, `failed` (on-chain), `not_included` or `rpc`.
	pub outcome: String,
}

/// Every metric of the worker; cheap to clone (shared handles).
#[derive(Clone)]
pub struct Metrics {
	/// The node's last finalized block.
	pub finalized_head: Gauge,
	/// The last block the worker processed.
	pub processed_block: Gauge,
	/// Finalized blocks not processed yet.
	pub processed_lag: Gauge,
	/// Times the follower lost the node and picked up again.
	pub reconnects: Counter,
	/// Tasks discovered.
	pub tasks_seen: Counter,
	/// Seats claimed (winning draws submitted).
	pub tasks_claimed: Counter,
	/// Committees the worker was elected to.
	pub tasks_won: Counter,
	/// Jobs run to a result.
	pub tasks_executed: Counter,
	/// Duties given up after retries.
	pub tasks_failed: Counter,
	/// Transactions by call and outcome.
	pub transactions: Family<TxLabels, Counter>,
	/// Job run time, seconds.
	pub job_seconds: Histogram,
	/// TPM quote latency, seconds.
	pub quote_seconds: Histogram,
	/// The worker's free balance, in units.
	pub balance: Gauge<f64, std::sync::atomic::AtomicU64>,
	registry: Arc<Registry>,
}

/// Registers `metric` in `registry` and hands it back: each metric is named once.
fn registered<M: prometheus_client::registry::Metric + Clone>(
	registry: &mut Registry,
	name: &str,
	help: &str,
	metric: M,
) -> M {
	registry.register(name, help, metric.clone());
	metric
}

impl Metrics {
	/// A registry with every metric at zero.
	pub fn new() -> Self {
		let mut r = Registry::with_prefix("vouch_executor");
		let r = &mut r;
		let job_buckets = [0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0];
		let quote_buckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0];
		Self {
			finalized_head: registered(
				r,
				"finalized_head",
				"The node's last finalized block",
				Gauge::default(),
			),
			processed_block: registered(
				r,
				"processed_block",
				"The last block processed",
				Gauge::default(),
			),
			processed_lag: registered(
				r,
				"processed_lag",
				"Finalized blocks not yet processed",
				Gauge::default(),
			),
			reconnects: registered(
				r,
				"reconnects",
				"Times the node was lost and found again",
				Counter::default(),
			),
			tasks_seen: registered(r, "tasks_seen", "Tasks discovered", Counter::default()),
			tasks_claimed: registered(
				r,
				"tasks_claimed",
				"Seats claimed with a winning draw",
				Counter::default(),
			),
			tasks_won: registered(
				r,
				"tasks_won",
				"Committees this worker was elected to",
				Counter::default(),
			),
			tasks_executed: registered(
				r,
				"tasks_executed",
				"Jobs run to a result",
				Counter::default(),
			),
			tasks_failed: registered(
				r,
				"tasks_failed",
				"Duties given up after retries",
				Counter::default(),
			),
			transactions: registered(
				r,
				"transactions",
				"Transactions by call and outcome",
				Family::default(),
			),
			job_seconds: registered(
				r,
				"job_seconds",
				"Job run time",
				Histogram::new(job_buckets.into_iter()),
			),
			quote_seconds: registered(
				r,
				"quote_seconds",
				"TPM quote latency",
				Histogram::new(quote_buckets.into_iter()),
			),
			balance: registered(
				r,
				"balance_units",
				"Free balance of the worker's account",
				Gauge::default(),
			),
			registry: Arc::new(std::mem::take(r)),
		}
	}

	/// The text exposition of every metric.
	pub fn render(&self) -> String {
		let mut out = String::new();
		encode(&mut out, &self.registry).expect("writing to a String cannot fail");
		out
	}

	/// Counts one transaction.
	pub fn transaction(&self, call: &str, outcome: &str) {
		self.transactions
			.get_or_create(&TxLabels { call: call.into(), outcome: outcome.into() })
			.inc();
	}
}

impl Default for Metrics {
	fn default() -> Self {
		Self::new()
	}
}

/// Serves `/metrics` on `listen` until `shutdown` resolves.
pub async fn serve(
	metrics: Metrics,
	listen: SocketAddr,
	shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<SocketAddr> {
	use axum::{routing::get, Router};
	let app = Router::new().route(
		"/metrics",
		get(move || {
			let metrics = metrics.clone();
			async move {
				(
					[(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
					metrics.render(),
				)
			}
		}),
	);
	let listener = tokio::net::TcpListener::bind(listen)
		.await
		.with_context(|| format!("the metrics endpoint cannot listen on {listen}"))?;
	let addr = listener.local_addr()?;
	tokio::spawn(async move {
		if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
			tracing::warn!(error = %e, "the metrics endpoint stopped");
		}
	});
	Ok(addr)
}
