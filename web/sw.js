// The service worker Web Push needs: shows a notification for each push (the sender and the preview).
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : "" };
  }
  const title = data.title || "New message";
  event.waitUntil(self.registration.showNotification(title, { body: data.body || "", tag: data.conversationId }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(event.notification.tag ? `./#c/${event.notification.tag}` : "./"));
});
