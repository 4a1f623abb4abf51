/** A request the dashboard's API refuses: its HTTP status and a one-line message for the client. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
