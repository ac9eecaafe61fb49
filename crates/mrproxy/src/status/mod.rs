//! What `mrproxy status` shows: the document the daemon builds (`build`), its schema (`model`)
//! and its two renderings, tables (`table`) and Prometheus metrics (`prometheus`).

pub mod build;
pub mod model;
pub mod prometheus;
pub mod table;
pub mod view;
