//! Downloads from a real HTTP server on 127.0.0.1, started by each test and
//! serving the shared MNIST files: intact, corrupted, cut short, or 404.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wgrad_data::{DataError, DownloadSpec, Mnist, download, sha256_of_file};

use crate::{TempDir, assert_mentions, mnist_dir};

/// The SHA-256 of the files in shared/data/mnist, from its README.
const SHARED_SHA256: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte.gz",
        "fd2e4c2c97ebccd77ab08736830691e604e6ea2f84b09953adff62ea9ac00584",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        "03c2725368d678ef8c771f0b0eb162b18d5fd2b9f477dbae352828244ad3d7c4",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        "5634745efa576a17e7d4cf5cd9d09123c75e6538e5114267c2d156edaf519341",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        "ae18e77e031ccde52407f794d123116439864147d33ac992975f85dd4dc42af6",
    ),
];

/// The smallest shared file, for tests that need only one.
const LABELS: (&str, &str) = SHARED_SHA256[3];

/// A one-request-per-connection HTTP/1.1 server on a free loopback port.
/// Routes: `/good/NAME` the shared file, `/corrupt/NAME` the same with one
/// byte flipped, `/truncated/NAME` half the file under the full
/// Content-Length; anything else is 404. Stops when dropped.
struct Server {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let (requests, stop) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let (count, stopped) = (Arc::clone(&requests), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    count.fetch_add(1, Ordering::SeqCst);
                    // A client that hangs up early is its own problem.
                    let _ = serve(stream);
                }
            }
        });
        Self {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// The base URL of a route, e.g. `http://127.0.0.1:PORT/good/`.
    fn base(&self, route: &str) -> String {
        format!("http://{}/{route}/", self.addr)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Skip the headers, up to the empty line.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (route, name) = path[1..].split_once('/').unwrap_or(("", ""));
    let file = mnist_dir().join(name);
    let body = match route {
        "good" | "corrupt" | "truncated" if !name.is_empty() && file.is_file() => {
            std::fs::read(&file)?
        }
        _ => {
            let mut stream = stream;
            let msg = "not found";
            write!(
                stream,
                "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{msg}",
                msg.len()
            )?;
            return Ok(());
        }
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )?;
    match route {
        "corrupt" => {
            let mut bad = body;
            let middle = bad.len() / 2;
            bad[middle] ^= 0xff;
            stream.write_all(&bad)
        }
        "truncated" => stream.write_all(&body[..body.len() / 2]),
        _ => stream.write_all(&body),
    }
}

fn spec(mirrors: &[String], files: &[(&str, &str)]) -> DownloadSpec {
    DownloadSpec {
        mirrors: mirrors.to_vec(),
        files: files
            .iter()
            .map(|&(name, digest)| (name.to_string(), digest.to_string()))
            .collect(),
    }
}

/// The names in a folder, sorted: temporary files would show up here.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list the folder")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn download_verifies_every_file_and_renames_it_into_place() {
    let server = Server::start();
    let tmp = TempDir::new("download-good");
    let dir = tmp.path().join("mnist");
    let paths = download(&dir, &spec(&[server.base("good")], &SHARED_SHA256)).expect("download");
    assert_eq!(paths.len(), 4);
    for ((name, digest), path) in SHARED_SHA256.iter().zip(&paths) {
        assert_eq!(path, &dir.join(name));
        assert_eq!(sha256_of_file(path).expect("hash"), *digest, "{name}");
    }
    let mut expected: Vec<String> = SHARED_SHA256.iter().map(|(n, _)| n.to_string()).collect();
    expected.sort();
    assert_eq!(listing(&dir), expected, "no temporary file left behind");
    let mnist = Mnist::from_idx_dir(&dir).expect("the downloaded files load");
    assert_eq!((mnist.train.count, mnist.test.count), (10_000, 10_000));
}

#[test]
fn download_keeps_a_verified_file_and_replaces_a_wrong_one() {
    let server = Server::start();
    let tmp = TempDir::new("download-again");
    let spec = spec(&[server.base("good")], &[LABELS]);
    download(tmp.path(), &spec).expect("first download");
    let after_first = server.requests();
    download(tmp.path(), &spec).expect("nothing to do");
    assert_eq!(
        server.requests(),
        after_first,
        "a verified file is not fetched again"
    );

    tmp.file(LABELS.0, b"an old, wrong file");
    download(tmp.path(), &spec).expect("replace the wrong file");
    assert_eq!(
        sha256_of_file(tmp.path().join(LABELS.0)).expect("hash"),
        LABELS.1
    );
}

/// Downloads [`LABELS`] from `route` and checks it fails naming the file
/// and the URL with `why`, leaving the folder empty.
fn assert_fails_cleanly(route: &str, why: &[&str]) {
    let server = Server::start();
    let tmp = TempDir::new(&format!("download-{route}"));
    let url = format!("{}{}", server.base(route), LABELS.0);
    let err = download(tmp.path(), &spec(&[server.base(route)], &[LABELS])).expect_err(route);
    match &err {
        DataError::Download { file, attempts, .. } => {
            assert_eq!(file, LABELS.0);
            assert_eq!(attempts.len(), 1);
            assert_eq!(attempts[0].0, url);
        }
        other => panic!("{route}: expected DataError::Download, got {other:?}"),
    }
    let message = err.to_string();
    assert_mentions(&message, &[LABELS.0, &url]);
    assert_mentions(&message, why);
    assert_eq!(
        listing(tmp.path()),
        Vec::<String>::new(),
        "{route}: no file left"
    );
}

#[test]
fn a_corrupted_file_fails_its_digest_and_leaves_nothing() {
    assert_fails_cleanly("corrupt", &["SHA-256", LABELS.1]);
}

#[test]
fn a_404_fails_naming_the_url_and_leaves_nothing() {
    assert_fails_cleanly("missing", &["HTTP 404"]);
}

#[test]
fn a_connection_cut_short_fails_and_leaves_nothing() {
    assert_fails_cleanly("truncated", &["transfer failed"]);
}

#[test]
fn download_falls_back_to_the_next_mirror() {
    let server = Server::start();
    let tmp = TempDir::new("download-fallback");
    let mirrors = [
        server.base("missing"),
        server.base("corrupt"),
        server.base("good"),
    ];
    download(tmp.path(), &spec(&mirrors, &[LABELS])).expect("the third mirror is good");
    assert_eq!(
        sha256_of_file(tmp.path().join(LABELS.0)).expect("hash"),
        LABELS.1
    );
    assert_eq!(listing(tmp.path()), [LABELS.0]);
}

#[test]
fn the_default_spec_is_the_official_mnist_files() {
    let spec = DownloadSpec::mnist();
    assert_eq!(spec.files.len(), 4);
    assert!(spec.mirrors.iter().all(|m| m.starts_with("http")));
    // The official training images, as published with MNIST's mirrors.
    assert_eq!(
        spec.files[0],
        (
            "train-images-idx3-ubyte.gz".to_string(),
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609".to_string()
        )
    );
}
