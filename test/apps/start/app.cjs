// A CommonJS app.
require('./greeter.cjs').serve();
