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
	/// Transactions signed again after a stale nonce.
	pub nonce_resyncs: Counter,
	/// Job run time, seconds.
	pub job_seconds: Histogram,
	/// TPM quote latency, seconds.
	pub quote_seconds: Histogram,
	/// The worker's free balance, in units.
	pub balance: Gauge<f64, std::sync::atomic::AtomicU64>,
	registry: Arc<Registry>,
}

impl Metrics {
	/// A registry with every metric at zero.
	pub fn new() -> Self {
		let mut registry = Registry::with_prefix("vouch_executor");
		let m = Self {
			finalized_head: Gauge::default(),
			processed_block: Gauge::default(),
			processed_lag: Gauge::default(),
			reconnects: Counter::default(),
			tasks_seen: Counter::default(),
			tasks_claimed: Counter::default(),
			tasks_won: Counter::default(),
			tasks_executed: Counter::default(),
			tasks_failed: Counter::default(),
			transactions: Family::default(),
			nonce_resyncs: Counter::default(),
			job_seconds: Histogram::new(
				[0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0].into_iter(),
			),
			quote_seconds: Histogram::new([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0].into_iter()),
			balance: Gauge::default(),
			registry: Arc::new(Registry::default()),
		};
		registry.register(
			"finalized_head",
			"The node's last finalized block",
			m.finalized_head.clone(),
		);
		registry.register("processed_block", "The last block processed", m.processed_block.clone());
		registry.register(
			"processed_lag",
			"Finalized blocks not yet processed",
			m.processed_lag.clone(),
		);
		registry.register(
			"reconnects",
			"Times the node was lost and found again",
			m.reconnects.clone(),
		);
		registry.register("tasks_seen", "Tasks discovered", m.tasks_seen.clone());
		registry.register(
			"tasks_claimed",
			"Seats claimed with a winning draw",
			m.tasks_claimed.clone(),
		);
		registry.register(
			"tasks_won",
			"Committees this worker was elected to",
			m.tasks_won.clone(),
		);
		registry.register("tasks_executed", "Jobs run to a result", m.tasks_executed.clone());
		registry.register("tasks_failed", "Duties given up after retries", m.tasks_failed.clone());
		registry.register(
			"transactions",
			"Transactions by call and outcome",
			m.transactions.clone(),
		);
		registry.register(
			"nonce_resyncs",
			"Transactions signed again after a stale nonce",
			m.nonce_resyncs.clone(),
		);
		registry.register("job_seconds", "Job run time", m.job_seconds.clone());
		registry.register("quote_seconds", "TPM quote latency", m.quote_seconds.clone());
		registry.register(
			"balance_units",
			"Free balance of the worker's account",
			m.balance.clone(),
		);
		Self { registry: Arc::new(registry), ..m }
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
