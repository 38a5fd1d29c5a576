//! The design and the READMEs name the code they describe (`DESIGN §n` is cited from the code,
//! and readers follow the names back). When a file moves or a function is renamed, those names
//! go stale without a sound; this test reads every backticked name in the docs and fails
//! listing each one the repository no longer has, with its file and line. No node, no network:
//! it reads the work tree only.

use std::{
	collections::{BTreeSet, HashSet},
	fs,
	path::{Path, PathBuf},
};

/// The pages checked, relative to the repository root.
const PAGES: &[&str] = &[
	"docs/DESIGN.md",
	"docs/clients.md",
	"docs/formats.md",
	"README.md",
	"offchain-executor/README.md",
	"pallets/README.md",
];

/// Names in backticks that are not this repository's code, each with why.
const NOT_CODE: &[(&str, &str)] = &[
	// DESIGN §3 names the original design's states to say they were folded into others.
	("Attested", "a state of the original design, folded in"),
	("KeysReleased", "a state of the original design, folded in"),
	("ResultSubmitted", "a state of the original design, folded in"),
	// The team's notes live outside the repository (DESIGN §8 says so).
	("tpm-and-docker.md", "the team's shared notes, outside this repository"),
	// py-substrate-interface's own API, named to say what it lacks (docs/clients.md).
	("runtime_call", "a py-substrate-interface method"),
	("TasksApi_sortition", "the runtime API's RPC name, made by the runtime macro"),
	("ValueError", "the Python exception scalecodec raises"),
	// FRAME's and HTTP's names, and names of the past kept to say why they went.
	("on_idle", "FRAME's hook, named to say why the deadlines do not use it"),
	("ETag", "an HTTP header of the store's API"),
	("MaxQuoteAge", "a constant that was removed, named to say why"),
	("DeadlineBlockFull", "an error that was removed, named to say why"),
	// Folders and files made at run time, not in the repository.
	("corrupt/", "the content store's quarantine folder, made at run time"),
	("tmp/", "the content store's upload folder, made at run time"),
	("in/", "a job's staging folder, made at run time"),
	("out/", "a job's staging folder, made at run time"),
	("manifest.json", "the file inside a `docker save` tarball"),
];

/// File endings that make a backticked word a repository path.
const PATH_ENDINGS: &[&str] =
	&[".rs", ".sh", ".md", ".json", ".py", ".mjs", ".toml", ".scale", ".yml", ".yaml", ".txt"];

fn root() -> PathBuf {
	Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the workspace").into()
}

/// Every file and directory of the work tree, relative to the root, without build output,
/// dependencies or version control.
fn tree(root: &Path) -> (Vec<String>, Vec<String>) {
	let (mut files, mut dirs) = (Vec::new(), Vec::new());
	let mut stack = vec![root.to_path_buf()];
	while let Some(dir) = stack.pop() {
		let Ok(entries) = fs::read_dir(&dir) else { continue };
		for entry in entries.flatten() {
			let name = entry.file_name().to_string_lossy().into_owned();
			if name.starts_with('.') || name == "target" || name == "node_modules" {
				continue;
			}
			let path = entry.path();
			let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
			if path.is_dir() {
				dirs.push(rel);
				stack.push(path);
			} else {
				files.push(rel);
			}
		}
	}
	(files, dirs)
}

/// The backticked spans of a markdown page outside fenced blocks, with their line numbers.
fn spans(text: &str) -> Vec<(usize, String)> {
	let mut out = Vec::new();
	let mut fenced = false;
	for (i, line) in text.lines().enumerate() {
		if line.trim_start().starts_with("```") {
			fenced = !fenced;
			continue;
		}
		if fenced {
			continue;
		}
		let mut parts = line.split('`');
		parts.next();
		while let (Some(inside), Some(_)) = (parts.next(), parts.next()) {
			out.push((i + 1, inside.to_string()));
		}
		// A last odd part is an unclosed backtick: nothing to check.
	}
	out
}

fn is_ident_char(c: char) -> bool {
	c.is_ascii_alphanumeric() || c == '_'
}

/// The identifiers of the workspace's sources and scripts, and where each name is defined.
struct Corpus {
	/// Every identifier in a source or script.
	words: HashSet<String>,
	/// Names defined anywhere, fields and enum variants included.
	defined: HashSet<String>,
	/// Per Rust file: the names it defines with a keyword (`fn`, `struct`, `mod`, ...).
	items: Vec<(String, HashSet<String>)>,
	/// Every crate in `Cargo.lock`.
	crates: HashSet<String>,
	/// The workspace's crates (as Rust names) and their folders.
	workspace_crates: Vec<(String, String)>,
	/// The files and folders of the tree.
	files: Vec<String>,
	dirs: Vec<String>,
}

impl Corpus {
	fn read(root: &Path, files: &[String], dirs: &[String]) -> Self {
		let mut words = HashSet::new();
		let mut defined = HashSet::new();
		let mut items = Vec::new();
		let mut workspace_crates = Vec::new();
		for file in files {
			let name = file.rsplit('/').next().unwrap();
			let source = [".rs", ".sh", ".py", ".mjs", ".toml"].iter().any(|e| name.ends_with(e));
			if !source {
				continue;
			}
			let Ok(text) = fs::read_to_string(root.join(file)) else { continue };
			if name == "Cargo.toml" {
				let folder = file.strip_suffix("Cargo.toml").unwrap().to_string();
				for line in text.lines() {
					if let Some(n) = line.strip_prefix("name = \"") {
						let crate_name = n.trim_end_matches('"').replace('-', "_");
						workspace_crates.push((crate_name, folder.clone()));
					}
				}
			}
			for word in text.split(|c: char| !is_ident_char(c)).filter(|w| !w.is_empty()) {
				words.insert(word.to_string());
			}
			let mut own = HashSet::new();
			for line in text.lines() {
				let tokens: Vec<&str> =
					line.split(|c: char| !is_ident_char(c)).filter(|w| !w.is_empty()).collect();
				// `fn x`, `struct X`, `mod x`, `use a as x`: the word after a defining keyword.
				for pair in tokens.windows(2) {
					if matches!(
						pair[0],
						"fn" | "struct"
							| "enum" | "mod" | "type"
							| "const" | "trait" | "static"
							| "macro_rules" | "as"
					) {
						own.insert(pair[1].to_string());
					}
				}
				// `pub use a::{b, c}`: re-exported names are the module's too.
				if line.trim_start().starts_with("pub use") {
					own.extend(tokens.iter().map(|t| t.to_string()));
				}
				// A field, an enum variant, a storage item: the line's first word followed
				// by `:`, `,`, `(`, `{`, `=` or `<`.
				let trimmed = line.trim_start().trim_start_matches("pub ").trim_start();
				let head: String = trimmed.chars().take_while(|c| is_ident_char(*c)).collect();
				let rest = trimmed[head.len()..].trim_start();
				if !head.is_empty()
					&& rest.starts_with(|c| matches!(c, ':' | ',' | '(' | '{' | '=' | '<'))
				{
					defined.insert(head);
				}
			}
			defined.extend(own.iter().cloned());
			if name.ends_with(".rs") {
				items.push((file.clone(), own));
			}
		}
		let lock = fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
		let crates = lock
			.lines()
			.filter_map(|l| l.strip_prefix("name = \""))
			.map(|n| n.trim_end_matches('"').replace('-', "_"))
			.collect();
		Self {
			words,
			defined,
			items,
			crates,
			workspace_crates,
			files: files.to_vec(),
			dirs: dirs.to_vec(),
		}
	}

	/// The folders a module or crate `name` may live in: `name.rs` and `name/` anywhere, or a
	/// workspace crate's folder.
	fn module_files(&self, name: &str) -> Vec<&str> {
		let crate_dirs: Vec<&str> = self
			.workspace_crates
			.iter()
			.filter(|(c, _)| c == name)
			.map(|(_, dir)| dir.as_str())
			.collect();
		self.items
			.iter()
			.map(|(file, _)| file.as_str())
			.filter(|file| {
				let in_crate = crate_dirs.iter().any(|d| file.starts_with(d));
				let own = file.ends_with(&format!("/{name}.rs"))
					|| file.contains(&format!("/{name}/"))
					|| file.starts_with(&format!("{name}/"));
				in_crate || own
			})
			.collect()
	}

	/// Whether `inner` is a module or item of the module (or crate) `outer`.
	fn in_module(&self, outer: &str, inner: &str) -> bool {
		let files = self.module_files(outer);
		files.iter().any(|f| {
			f.ends_with(&format!("/{inner}.rs"))
				|| f.contains(&format!("/{inner}/"))
				|| self.items.iter().any(|(file, own)| file == f && own.contains(inner))
		})
	}

	fn is_module(&self, name: &str) -> bool {
		self.workspace_crates.iter().any(|(c, _)| c == name)
			|| self.files.iter().any(|f| f.ends_with(&format!("/{name}.rs")))
			|| self.dirs.iter().any(|d| d.ends_with(&format!("/{name}")))
	}

	/// Whether `a::b::c` names something here. A crate of another project, or a type this
	/// workspace only uses (`Pays::No`), is taken on trust. Below a module (or crate) each
	/// name must be that module's own (a file, a `mod`, an item, a re-export); below a type,
	/// a name defined anywhere (an associated item, a variant, a field).
	fn has_path(&self, segments: &[&str]) -> bool {
		let first = segments[0];
		if self.crates.contains(first) && !self.workspace_crates.iter().any(|(c, _)| c == first) {
			return true;
		}
		let ours = self.workspace_crates.iter().any(|(c, _)| c == first)
			|| self.defined.contains(first)
			|| self.is_module(first);
		if !ours {
			// Only a type may be another project's; a module path must be ours or a crate's.
			return first.starts_with(|c: char| c.is_ascii_uppercase())
				&& self.words.contains(first);
		}
		segments.windows(2).all(|pair| {
			let (outer, inner) = (pair[0], pair[1]);
			if matches!(outer, "crate" | "self" | "super") {
				return self.defined.contains(inner) || self.is_module(inner);
			}
			// Lower case before `::` is a module (or crate): it must exist and hold `inner`.
			if outer.starts_with(|c: char| c.is_ascii_lowercase()) {
				return self.is_module(outer) && self.in_module(outer, inner);
			}
			self.defined.contains(inner)
		})
	}
}

fn is_camel(word: &str) -> bool {
	let mut chars = word.chars();
	chars.next().is_some_and(|c| c.is_ascii_uppercase())
		&& word.chars().any(|c| c.is_ascii_lowercase())
		&& word.chars().all(is_ident_char)
}

fn is_snake(word: &str) -> bool {
	word.contains('_')
		&& word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
		&& !word.starts_with('_')
}

/// What a span names, if it names code or a file: `None` for prose, numbers, labels, URLs.
enum Name {
	Path(String),
	Symbol(String),
}

fn classify(span: &str) -> Option<Name> {
	let span = span.trim();
	let path_chars = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/');
	if !span.is_empty() && span.chars().all(path_chars) && !span.starts_with('/') {
		let file = PATH_ENDINGS.iter().any(|e| span.ends_with(e));
		let dir = span.ends_with('/') && span.len() > 1;
		if file || dir {
			return Some(Name::Path(span.to_string()));
		}
	}
	// The leading Rust-like path: `a::b`, `a.b`, `Name { .. }`, `call(args)`.
	let lead: String = span
		.char_indices()
		.take_while(|(i, c)| {
			let before = &span[..*i];
			is_ident_char(*c)
				|| *c == '.' || (*c == ':'
				&& (span[*i..].starts_with("::")
					|| before.ends_with(':') && !before.ends_with("::")))
		})
		.map(|(_, c)| c)
		.collect();
	let lead = lead.trim_end_matches(['.', ':']);
	if lead.is_empty() || lead.starts_with(|c: char| c.is_ascii_digit()) {
		return None;
	}
	let after = &span[lead.len()..];
	// `vouch_executor_*`: a family of names, not one.
	if after.starts_with('*') {
		return None;
	}
	let called = after.starts_with('(');
	if lead.contains("::") {
		return Some(Name::Symbol(lead.to_string()));
	}
	// `pallet.call`: the call (or storage, or field) is the name.
	let last = lead.rsplit('.').next().unwrap();
	if lead.contains('.') && last.chars().all(|c| c.is_ascii_digit()) {
		return None;
	}
	// polkadot.js spells calls and storage in camelCase (`tasks.claimSeat`,
	// `registry.trustedTpmRoots`): the Rust name is its snake_case or its PascalCase.
	let head_is_pallet = lead.contains('.') && lead.starts_with(|c: char| c.is_ascii_lowercase());
	if head_is_pallet && last.starts_with(|c: char| c.is_ascii_lowercase()) && last != snake(last) {
		let pascal = last[..1].to_ascii_uppercase() + &last[1..];
		return Some(Name::Symbol(format!("{}|{pascal}", snake(last))));
	}
	(is_camel(last) || is_snake(last) || (called && last.chars().all(is_ident_char)))
		.then(|| Name::Symbol(last.to_string()))
}

fn snake(camel: &str) -> String {
	let mut out = String::new();
	for c in camel.chars() {
		if c.is_ascii_uppercase() {
			out.push('_');
			out.push(c.to_ascii_lowercase());
		} else {
			out.push(c);
		}
	}
	out
}

#[test]
fn every_file_and_symbol_the_docs_name_exists() {
	let root = root();
	let (files, dirs) = tree(&root);
	let corpus = Corpus::read(&root, &files, &dirs);
	let allowed: BTreeSet<&str> = NOT_CODE.iter().map(|(name, _)| *name).collect();
	let mut missing = Vec::new();
	for page in PAGES {
		let text = fs::read_to_string(root.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
		// A page's paths may be relative to the page's own folder.
		let base = Path::new(page).parent().unwrap().to_string_lossy().into_owned();
		for (line, span) in spans(&text) {
			match classify(&span) {
				Some(Name::Path(path)) if !allowed.contains(path.as_str()) => {
					let want = path.trim_end_matches('/');
					let list = if path.ends_with('/') { &dirs } else { &files };
					let found = root.join(want).exists()
						|| (!base.is_empty() && root.join(&base).join(want).exists())
						|| list.iter().any(|f| f.ends_with(&format!("/{want}")) || f == want);
					if !found {
						missing.push(format!("{page}:{line}: `{span}`: no such file"));
					}
				},
				Some(Name::Symbol(symbol)) if !allowed.contains(symbol.as_str()) => {
					let found = if symbol.contains("::") {
						let segments: Vec<&str> = symbol.split("::").collect();
						corpus.has_path(&segments)
					} else {
						symbol.split('|').any(|s| corpus.words.contains(s) || corpus.is_module(s))
					};
					if !found {
						missing.push(format!("{page}:{line}: `{span}`: no such name in the code"));
					}
				},
				_ => {},
			}
		}
	}
	assert!(
		missing.is_empty(),
		"the docs name {} thing(s) the repository does not have (rename them in the docs, or add \
		 a word that is not code to NOT_CODE in tests/tests/docs.rs with its reason):\n  {}",
		missing.len(),
		missing.join("\n  ")
	);
}
