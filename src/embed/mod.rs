//! Sentence embeddings of item text with a local BERT-family model (candle).
//!
//! - [`device`]: the device choice (`auto|cpu|cuda[:N]|metal`) and the one function that
//!   selects a device, falling back to the CPU with a notice.
//! - [`model`]: finding a model directory (or a Hugging Face cache entry) and reading its
//!   files, with errors that name the bad file.
//! - [`encoder`]: [`SentenceEmbedder`] — tokenise, length-sorted batches, BERT, mean
//!   pooling, L2 normalisation — and the [`Embeddings`] it returns.
//! - [`template`]: which catalogue columns make an item's text.
//! - [`cache`]: embeddings on disk keyed by model, template and texts.
//! - [`bert`]: the BERT encoder itself, tuned for CPU throughput.
//! - [`int8`]: int8 weights and matmuls for the encoder's dense layers (`--precision int8`).
//! - [`bench`]: throughput measurement.
//! - [`projection`]: a 2-D map and clusters of item vectors (Explore view).
//! - [`reuse`]: embedding a catalogue again, reusing the vectors of texts embedded before.
//! - [`vectors`]: [`ItemVectors`], the embedded catalogue every signal and view reads.
//!
//! candle is used only here; nothing in this module knows about the GUI or polars.

pub mod bench;
pub mod bert;
pub mod cache;
pub mod device;
pub mod encoder;
pub mod error;
pub mod int8;
pub mod model;
pub mod projection;
pub mod reuse;
pub mod template;
pub mod vectors;

pub use bench::{EmbedBenchResult, bench_embed};
pub use cache::{CacheKey, CacheOutcome, EmbeddingCache, embed_with_cache};
pub use device::{DeviceChoice, SelectedDevice, select_device};
pub use encoder::{DEFAULT_BATCH_SIZE, EmbedPrecision, Embeddings, SentenceEmbedder, cosine, l2_normalize, mean_pool};
pub use error::EmbedError;
pub use model::{ModelFiles, default_model_dir};
pub use template::ItemTextTemplate;
pub use vectors::{ItemVectors, dot, dot_rows_block};
