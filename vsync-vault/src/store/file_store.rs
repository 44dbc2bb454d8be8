//! The `file://` backend: object_store's `LocalFileSystem` for reads, listings and deletes, with
//! our own writes on top, because `LocalFileSystem` has no `PutMode::Update` and creates files
//! with the process umask.
//!
//! Every write takes an exclusive `flock` on `<root>/.vsync-store.lock#0` (hidden from listings:
//! `LocalFileSystem` treats a `#<digits>` suffix as an in-progress upload), so compare-and-swap
//! is correct across threads and processes. Inside the lock: compare the current ETag with the
//! expected one, write a staging file (0600) next to the target, give it an mtime strictly later
//! than the object it replaces (so the `inode-mtime-size` ETag of `LocalFileSystem` never repeats
//! for one key), then `rename` (overwrite, update) or `hard_link` (create-only, atomic). New
//! directories are 0700.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};

const STORE: &str = "vsync-file";
const LOCK_NAME: &str = ".vsync-store.lock#0";

/// `LocalFileSystem` plus cross-process conditional writes.
#[derive(Debug)]
pub(crate) struct FileStore {
    inner: LocalFileSystem,
    root: PathBuf,
}

impl std::fmt::Display for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "file://{}", self.root.display())
    }
}

fn generic(e: impl std::error::Error + Send + Sync + 'static) -> object_store::Error {
    object_store::Error::Generic {
        store: STORE,
        source: Box::new(e),
    }
}

fn strip_quotes(s: &str) -> &str {
    s.trim_matches('"')
}

/// `mkdir -p` with 0700 for created directories.
fn mkdir_private(dir: &std::path::Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

impl FileStore {
    /// Open (creating `root` with mode 0700 if missing).
    pub(crate) fn open(root: PathBuf) -> std::io::Result<Self> {
        mkdir_private(&root)?;
        let inner = LocalFileSystem::new_with_prefix(&root)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let root = std::fs::canonicalize(&root)?;
        Ok(Self { inner, root })
    }

    pub(crate) fn into_arc(self) -> Arc<dyn ObjectStore> {
        Arc::new(self)
    }

    /// Take the store-wide write lock (blocking wait on a worker thread).
    async fn lock(&self) -> object_store::Result<File> {
        let path = self.root.join(LOCK_NAME);
        tokio::task::spawn_blocking(move || -> std::io::Result<File> {
            let mut o = std::fs::OpenOptions::new();
            o.read(true).write(true).create(true).truncate(false);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                o.mode(0o600);
            }
            let f = o.open(&path)?;
            f.lock()?;
            Ok(f)
        })
        .await
        .map_err(generic)?
        .map_err(generic)
    }

    async fn current_etag(&self, location: &Path) -> object_store::Result<Option<String>> {
        match self.inner.head(location).await {
            Ok(meta) => Ok(meta.e_tag.map(|e| strip_quotes(&e).to_owned())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Write `payload` to a fresh staging file next to `dest` and publish it.
fn write_and_publish(
    dest: PathBuf,
    payload: PutPayload,
    create_only: bool,
    location: String,
) -> object_store::Result<()> {
    let parent = dest
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    mkdir_private(&parent).map_err(generic)?;
    // Under the store lock: the staging files a killed writer left here can go now.
    super::stale_temp::clean(&parent, SystemTime::now());
    let prev_mtime = std::fs::metadata(&dest).and_then(|m| m.modified()).ok();
    let (mut file, staging) = {
        let mut n: u64 = u64::from(std::process::id()) << 20;
        loop {
            let mut p = dest.as_os_str().to_owned();
            p.push(format!("#{n}"));
            let p = PathBuf::from(p);
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                o.mode(0o600);
            }
            match o.open(&p) {
                Ok(f) => break (f, p),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
                Err(e) => return Err(generic(e)),
            }
        }
    };
    let result = (|| -> object_store::Result<()> {
        for chunk in payload.iter() {
            file.write_all(chunk).map_err(generic)?;
        }
        let now = SystemTime::now();
        let mtime = match prev_mtime {
            Some(prev) if prev >= now => prev + Duration::from_micros(1),
            _ => now,
        };
        file.set_modified(mtime).map_err(generic)?;
        file.sync_all().map_err(generic)?;
        drop(file);
        if create_only {
            match std::fs::hard_link(&staging, &dest) {
                Ok(()) => {
                    let _ = std::fs::remove_file(&staging);
                    Ok(())
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    Err(object_store::Error::AlreadyExists {
                        path: location.clone(),
                        source: Box::new(e),
                    })
                }
                Err(e) => Err(generic(e)),
            }
        } else {
            std::fs::rename(&staging, &dest).map_err(generic)
        }
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&staging);
    }
    result
}

/// Every object under `prefix` (recursive), as `LocalFileSystem` would list it: staging files
/// (`#<digits>`) and the lock left out; a name that is not a valid object path becomes an
/// `InvalidPath` item and the walk goes on.
fn walk_objects(
    root: &std::path::Path,
    prefix: Option<&Path>,
) -> Vec<object_store::Result<ObjectMeta>> {
    let mut out = Vec::new();
    let mut start = root.to_path_buf();
    if let Some(p) = prefix {
        for part in p.parts() {
            start.push(part.as_ref());
        }
    }
    let mut stack = vec![start];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in rd.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            if !meta.is_file() {
                continue;
            }
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            let Some(rel) = rel.to_str() else {
                out.push(Err(object_store::Error::InvalidPath {
                    source: object_store::path::Path::parse("\u{0}").unwrap_err(),
                }));
                continue;
            };
            let name = rel.rsplit('/').next().unwrap_or(rel);
            if name
                .rsplit_once('#')
                .is_some_and(|(_, d)| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            {
                continue;
            }
            match object_store::path::Path::parse(rel) {
                Ok(location) => out.push(Ok(ObjectMeta {
                    location,
                    // Callers of `list` use the names only.
                    last_modified: Default::default(),
                    size: meta.len(),
                    e_tag: None,
                    version: None,
                })),
                Err(source) => out.push(Err(object_store::Error::InvalidPath { source })),
            }
        }
    }
    out
}

#[async_trait]
impl ObjectStore for FileStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let dest = self.inner.path_to_filesystem(location)?;
        let _guard = self.lock().await?;
        let create_only = match &opts.mode {
            PutMode::Overwrite => false,
            PutMode::Create => {
                if self.current_etag(location).await?.is_some() {
                    return Err(object_store::Error::AlreadyExists {
                        path: location.to_string(),
                        source: "object exists".into(),
                    });
                }
                true
            }
            PutMode::Update(v) => {
                let Some(expected) = v.e_tag.as_deref() else {
                    return Err(object_store::Error::Generic {
                        store: STORE,
                        source: "PutMode::Update without an ETag".into(),
                    });
                };
                match self.current_etag(location).await? {
                    Some(cur) if cur == strip_quotes(expected) => false,
                    _ => {
                        return Err(object_store::Error::Precondition {
                            path: location.to_string(),
                            source: "ETag does not match".into(),
                        });
                    }
                }
            }
        };
        let loc = location.to_string();
        tokio::task::spawn_blocking(move || write_and_publish(dest, payload, create_only, loc))
            .await
            .map_err(generic)??;
        let meta = self.inner.head(location).await?;
        Ok(PutResult {
            e_tag: meta.e_tag,
            version: None,
            extensions: Default::default(),
        })
    }

    async fn put_multipart_opts(
        &self,
        _location: &Path,
        _opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        Err(object_store::Error::NotImplemented {
            operation: "put_multipart_opts".into(),
            implementer: STORE.into(),
        })
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        // `LocalFileSystem::list` ends the whole listing at the first name it cannot turn into
        // a path (a control character): walk ourselves and report such names one by one.
        let root = self.root.clone();
        let prefix = prefix.cloned();
        let items = walk_objects(&root, prefix.as_ref());
        Box::pin(futures::stream::iter(items))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        let _guard = self.lock().await?;
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        let _guard = self.lock().await?;
        self.inner.rename_opts(from, to, options).await
    }
}
