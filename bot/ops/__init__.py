"""The operator's view: health and Prometheus metrics (`observer`, `server`), `watchdesk status`
(`status`) and log configuration (`logs`). The core never imports this package; `bot.app`
passes the observer's hooks in."""
