mod support;
mod mock;
